import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditTrail } from '../adapters/dynamodb/audit-trail.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoSiemOutbox } from '../adapters/dynamodb/siem-outbox.ts';
import { exportEvents, flushAll, type ExportDeps } from '../services/siem-export/export-event.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import { groupCommit } from '../shared/group-commit.ts';
import type { SinkConfig } from '../shared/siem-config.ts';
import { freshTable } from './support/dynamo.ts';

const event = (id: string, type = 'certificate.issued'): BusEvent => ({ source: 'certops.test', detailType: type, detail: { eventId: id, occurredAt: '2026-11-30T10:00:00.000Z', correlationId: 'c' } });

describe('the SIEM export, a burst at a time', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  beforeAll(async () => void (db = await freshTable()));
  afterAll(() => db.close());

  it('does not read the outbox of a sink held after a failure: the export queues and records, and the backlog waits for the hold to end', async () => {
    let now = new Date('2026-11-30T11:00:00.000Z');
    const clock = { now: () => now };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'held', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 1, batchMs: 0, maxAttempts: 5 };
    const outbox = new DynamoSiemOutbox(db.table, () => ['held']);
    let reads = 0;
    const counting = Object.assign(Object.create(outbox), { due: (...args: Parameters<typeof outbox.due>) => (reads++, outbox.due(...args)) });
    const deps: ExportDeps = {
      clock, audit: new DynamoAuditTrail(db.table), locks: new DynamoLockStore(db.table, clock), outbox: counting, random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
    };
    await outbox.pause('held', new Date('2026-11-30T11:05:00.000Z'));
    expect(await exportEvents([event('held-1')], deps)).toEqual([true]);
    expect(reads).toBe(0);
    expect(sent).toEqual([]);
    now = new Date('2026-11-30T11:06:00.000Z');
    await flushAll(deps);
    expect(sent.map((line) => JSON.parse(line).eventId)).toEqual(['held-1']);
  });

  it('exports events whose ids are longer than a sort key may be (one naming a 1,024-character log URL) with the rest of their batch', async () => {
    const clock = { now: () => new Date('2026-11-30T10:00:00.000Z') };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'file', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 100, batchMs: 0, maxAttempts: 5 };
    const deps: ExportDeps = {
      clock, audit: new DynamoAuditTrail(db.table), locks: new DynamoLockStore(db.table, clock), outbox: new DynamoSiemOutbox(db.table, () => ['file']), random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
    };
    const longId = `ct:unauthorized:https://ct.example.test/${'a/'.repeat(500)}log:12345`;
    const exportOne = groupCommit((batch: BusEvent[]) => exportEvents(batch, deps), 50);
    const ids = ['revoked:cert-1', longId, 'approved:req-7'];
    expect(await Promise.all(ids.map((id) => exportOne(event(id, id === longId ? 'ct.unauthorized_certificate' : 'certificate.issued'))))).toEqual([true, true, true]);
    expect(sent.map((line) => JSON.parse(line).eventId).sort()).toEqual([...ids].sort());
    expect([...(await deps.audit.recorded(ids)).keys()].sort()).toEqual([...ids].sort());
    // Exported once: a redelivery of all three sends nothing more.
    expect(await exportEvents(ids.map((id) => event(id)), deps)).toEqual([false, false, false]);
    expect(sent).toHaveLength(3);
  });

  it('sends an event once when two exporters queue it at once, dated differently (a redelivery racing a producer that published it again)', async () => {
    const clock = { now: () => new Date('2026-11-30T11:00:00.000Z') };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'race', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 100, batchMs: 0, maxAttempts: 5 };
    // Both exporters find the event not yet in the trail before either appends it: the race a restart opens.
    const audit = new DynamoAuditTrail(db.table);
    let arrived = 0;
    let bothChecked!: () => void;
    const checked = new Promise<void>((resolve) => (bothChecked = resolve));
    const racingAudit = Object.assign(Object.create(audit), {
      recorded: async (ids: string[]) => {
        const found = await audit.recorded(ids);
        if (ids.includes('ct:unauthorized:log:0') && arrived < 2 && ++arrived === 2) bothChecked();
        if (arrived <= 2 && found.size === 0) await checked;
        return found;
      },
    });
    const deps: ExportDeps = {
      clock, audit: racingAudit, locks: new DynamoLockStore(db.table, clock), outbox: new DynamoSiemOutbox(db.table, () => ['race']), random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
    };
    const dated = (occurredAt: string): BusEvent => ({ ...event('ct:unauthorized:log:0', 'ct.unauthorized_certificate'), detail: { eventId: 'ct:unauthorized:log:0', occurredAt, correlationId: 'c' } });
    await Promise.all([exportEvents([dated('2026-11-30T10:59:00.000Z')], deps), exportEvents([dated('2026-11-30T10:59:30.000Z')], deps)]);
    expect(sent.map((line) => JSON.parse(line).eventId)).toEqual(['ct:unauthorized:log:0']);
    const [record] = (await audit.recorded(['ct:unauthorized:log:0'])).values();
    expect(JSON.parse(sent[0]).timestamp).toBe(record.occurredAt);
    expect(await deps.outbox.peek('race', 10)).toEqual([]);
  });

  it('passes over entries of events the trail never took (the bus gave up on them), and drops them once no exporter can be left', async () => {
    let now = new Date('2026-11-30T12:00:00.000Z');
    const clock = { now: () => now };
    const sent: string[] = [];
    const sink: SinkConfig = { name: 'after-outage', type: 'file', format: 'seed', path: '/dev/null', eventTypes: [], minSeverity: 'info', batchSize: 2, batchMs: 0, maxAttempts: 5 };
    const audit = new DynamoAuditTrail(db.table);
    const deps: ExportDeps = {
      clock, audit, locks: new DynamoLockStore(db.table, clock), outbox: new DynamoSiemOutbox(db.table, () => [sink.name]), random: () => 0.5, publisher: { publish: async () => undefined },
      sinks: [sink], send: async (_sink, records) => (sent.push(...records), { ok: true }),
    };
    // The trail refuses two events every time (the bus dead-letters them): their outbox entries stay, oldest of all.
    const refusing = { ...deps, audit: Object.assign(Object.create(audit), { appendAll: async () => { throw new Error('the audit trail is too busy to append to'); } }) };
    const dated = (id: string, at: string): BusEvent => ({ ...event(id), detail: { ...event(id).detail, occurredAt: at } });
    for (const id of ['refused-1', 'refused-2']) await expect(exportEvents([dated(id, '2026-11-30T11:59:00.000Z')], refusing)).rejects.toThrow(/busy/);
    const ids = Array.from({ length: 5 }, (_, i) => `later-${i}`);
    for (const id of ids) expect(await exportEvents([dated(id, '2026-11-30T12:00:00.000Z')], deps)).toEqual([true]);
    expect(sent.map((line) => JSON.parse(line).eventId).sort()).toEqual(ids);
    expect((await deps.outbox.peek(sink.name, 10)).map((e) => e.id).sort()).toEqual(['refused-1', 'refused-2']);
    // A quarter of an hour on, nobody can still be exporting them: they go (the bus's dead letters replay them).
    now = new Date('2026-11-30T12:16:00.000Z');
    await flushAll(deps);
    expect(await deps.outbox.peek(sink.name, 10)).toEqual([]);
    expect(sent).toHaveLength(5);
  });
});
