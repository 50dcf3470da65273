import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETAIL_TYPES, EVENT_SOURCES } from '../shared/events/catalog.ts';
import { eventSchemaValidator } from '../local/event-schemas.ts';
import { ROOT } from './support/processes.ts';

describe('event catalog (events/)', () => {
  const validate = eventSchemaValidator();

  it('has a schema and an example for every detail-type of the contract, and nothing else', () => {
    const names = (dir: string) => readdirSync(join(ROOT, 'events', dir)).filter((f) => f !== 'common.json').map((f) => f.replace(/\.json$/, '')).sort();
    expect(names('schemas')).toEqual([...DETAIL_TYPES].sort());
    expect(names('examples')).toEqual([...DETAIL_TYPES].sort());
  });

  it.each(DETAIL_TYPES)('the %s example is a valid EventBridge event for its schema and source', (type) => {
    const example = JSON.parse(readFileSync(join(ROOT, 'events/examples', `${type}.json`), 'utf8'));
    expect(example['detail-type']).toBe(type);
    if (EVENT_SOURCES[type] !== 'external') expect(example.source).toBe(EVENT_SOURCES[type]);
    expect(validate(type, example.detail)).toBeUndefined();
  });

  it('rejects a detail that breaks its schema, naming the field', () => {
    const example = JSON.parse(readFileSync(join(ROOT, 'events/examples/renewal.failed.json'), 'utf8'));
    const { step, ...withoutStep } = example.detail;
    expect(step).toBeDefined();
    expect(validate('renewal.failed', withoutStep)).toMatch(/step/);
    expect(validate('certificate.issued', { ...example.detail, serialNumber: 'not hex' })).toMatch(/serialNumber/);
  });
});
