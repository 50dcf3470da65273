import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSiemOutbox } from '../adapters/dynamodb/siem-outbox.ts';
import { sinkHealth } from '../services/siem-export/sink-health.ts';
import type { OutboxEntry } from '../shared/ports.ts';
import type { SinkConfig } from '../shared/siem-config.ts';
import { freshTable } from './support/dynamo.ts';

const now = new Date('2026-12-02T10:00:00.000Z');
const sink = (name: string): SinkConfig => ({ name, type: 'http', format: 'seed', url: 'http://127.0.0.1:9/', eventTypes: [], minSeverity: 'info', batchSize: 10, batchMs: 0, maxAttempts: 3 } as SinkConfig);
const entry = (id: string, extra: Partial<OutboxEntry> = {}): OutboxEntry => ({ id, payload: `{"id":"${id}"}`, createdAt: '2026-12-02T09:00:00.000Z', attempts: 0, nextAttemptAt: '2026-12-02T09:00:00.000Z', ...extra });

/** GET /siem/sinks: what an operator reads to tell a sink that works from one that gave up. */
describe('SIEM sink health', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let outbox: DynamoSiemOutbox;
  beforeAll(async () => {
    db = await freshTable();
    outbox = new DynamoSiemOutbox(db.table, () => ['ok', 'held', 'retrying', 'dead']);
    await outbox.addAll('held', [entry('h1')]);
    await outbox.pause('held', new Date(now.getTime() + 60_000));
    await outbox.addAll('retrying', [entry('r1', { attempts: 1, lastError: 'HTTP 503' })]);
    // Refused to the last attempt and nothing queued since: before, this sink was called healthy.
    await outbox.addAll('dead', [entry('d1'), entry('d2')]);
    await outbox.deadLetter('dead', [entry('d1', { attempts: 3, lastError: 'connect ECONNREFUSED (first)', nextAttemptAt: '2026-12-02T09:01:00.000Z' }), entry('d2', { attempts: 3, lastError: 'connect ECONNREFUSED (last)', nextAttemptAt: '2026-12-02T09:02:00.000Z' })]);
  });
  afterAll(() => db.close());

  it('says which sinks back off, retry, gave up (dead letters wait for a replay) or are healthy, with the last failure', async () => {
    const health = Object.fromEntries((await sinkHealth(['ok', 'held', 'retrying', 'dead'].map(sink), { outbox, now })).map((h) => [h.name, h]));
    expect(health.ok).toMatchObject({ state: 'healthy', queued: 0, deadLetters: 0 });
    expect(health.ok).not.toHaveProperty('lastError');
    expect(health.held).toMatchObject({ state: 'backing-off', queued: 1, pausedUntil: '2026-12-02T10:01:00.000Z' });
    expect(health.retrying).toMatchObject({ state: 'retrying', queued: 1, lastError: 'HTTP 503' });
    expect(health.dead).toMatchObject({ state: 'gave-up', queued: 0, deadLetters: 2, lastError: 'connect ECONNREFUSED (last)' });
  });
});
