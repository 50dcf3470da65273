import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSuiteConfig } from '../../adapters/suite-config-file.ts';

describe('the ct section of the suite configuration', () => {
  const load = (yaml: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'certops-config-')), 'config.yaml');
    writeFileSync(file, yaml);
    return loadSuiteConfig(file, '/dev/null');
  };

  it('reads fetch concurrency, request rate and allowed issuers, with defaults', () => {
    expect(load('ct:\n  concurrency: 8\n  requestsPerSecond: 2.5\n  allowedIssuers:\n    .example.com: ["CN=R11"]\n')).toMatchObject({ ctFetch: { concurrency: 8, requestsPerSecond: 2.5 }, ctAllowedIssuers: { '.example.com': ['CN=R11'] } });
    expect(load('inventory: {}\n').ctFetch).toEqual({ concurrency: 4 });
  });

  it('names the line and field of a bad value', () => {
    expect(() => load('ct:\n  concurrency: 1.5\n')).toThrow(/config.yaml:2: ct.concurrency must be a positive integer/);
    expect(() => load('ct:\n  requestsPerSecond: -1\n')).toThrow(expect.objectContaining({ field: 'ct.requestsPerSecond' }));
  });
});
