import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditTrail } from '../adapters/dynamodb/audit-trail.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoSiemOutbox } from '../adapters/dynamodb/siem-outbox.ts';
import { exportEvents, type ExportDeps } from '../services/siem-export/export-event.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { SinkConfig } from '../shared/siem-config.ts';
import { freshTable } from './support/dynamo.ts';

const event = (id: string, occurredAt: string): BusEvent => ({ source: 'certops.test', detailType: 'certificate.issued', detail: { eventId: id, occurredAt, correlationId: 'c' } });

// Found in review: an event redelivered after a crash is in two pages of the outbox, and a flush
// that read only the first still sends it once.
describe('the durable SIEM path, an event queued in two pages', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  beforeAll(async () => void (db = await freshTable()));
  afterAll(() => db.close());

  it('sends an event redelivered in another make-up once to a healthy receiver', async () => {
    const clock = { now: () => new Date('2026-11-30T11:00:00.000Z') };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'dup', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 2, batchMs: 0, maxAttempts: 5 };
    let crash = false;
    const deps: ExportDeps = {
      clock, audit: new DynamoAuditTrail(db.table), locks: new DynamoLockStore(db.table, clock), outbox: new DynamoSiemOutbox(db.table, () => ['dup']), random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
      crashPoint: (p) => { if (crash && p === 'siem:after-outbox') throw new Error('crash'); },
    };
    const a = event('a', '2026-11-30T10:00:01.000Z'), w = event('w', '2026-11-30T10:00:02.000Z'), c = event('c', '2026-11-30T10:00:03.000Z');
    crash = true;
    // An exporter of [a, c] dies between the outbox and the trail; so does one of [w] (both redelivered later).
    await expect(exportEvents([a, c], deps)).rejects.toThrow('crash');
    await expect(exportEvents([w], deps)).rejects.toThrow('crash');
    crash = false;
    // The queue redelivers c in a batch of its own: pages are X(t1)[a,c], W(t2)[w], C(t3)[c].
    await exportEvents([c], deps);
    expect(sent.map((l) => JSON.parse(l).eventId)).toEqual(['c']);
  });

  it('records and queues each event at its stated time in UTC, and one from outside with no date at the export\'s', async () => {
    const clock = { now: () => new Date('2026-11-30T12:00:00.000Z') };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'times', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 10, batchMs: 0, maxAttempts: 5 };
    const audit = new DynamoAuditTrail(db.table);
    const deps: ExportDeps = {
      clock, audit, locks: new DynamoLockStore(db.table, clock), outbox: new DynamoSiemOutbox(db.table, () => ['times']), random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
    };
    // Inbound events are not held to the schema's date-time: the outbox names its pages by these times, and compares them as strings.
    const inbound = (id: string, occurredAt: unknown): BusEvent => ({ source: 'partner.pipeline', detailType: 'certificate.requested', detail: { eventId: id, occurredAt, correlationId: 'c' } as BusEvent['detail'] });
    await exportEvents([inbound('offset', '2026-11-30T11:00:00+01:00'), inbound('garbage', 'x!'), inbound('none', undefined)], deps);
    const records = await audit.recorded(['offset', 'garbage', 'none']);
    expect(Object.fromEntries([...records].map(([id, r]) => [id, r.occurredAt]))).toEqual({ offset: '2026-11-30T10:00:00.000Z', garbage: '2026-11-30T12:00:00.000Z', none: '2026-11-30T12:00:00.000Z' });
    expect(sent.map((l) => JSON.parse(l).eventId).sort()).toEqual(['garbage', 'none', 'offset']);
    expect(await deps.outbox.peek('times', 10)).toEqual([]);
  });
});
