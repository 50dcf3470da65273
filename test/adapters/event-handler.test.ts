import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import { queueBatch } from '../../local/queue-delivery.ts';
import type { EventBridgeEvent } from '../../local/local-bus.ts';
import { ValidationError } from '../../shared/errors.ts';

const event = (n: number): EventBridgeEvent => ({ version: '0', id: `ev-${n}`, source: 'certops.test', 'detail-type': 'thing.happened', account: '0', time: new Date().toISOString(), region: 'local', resources: [], detail: { eventId: `e-${n}`, n } });

/** The handlers consumers' queues invoke (SQS batches, partial batch responses). */
describe('queue consumers', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let handlers: typeof import('../../adapters/eventbridge/event-handler.ts');
  beforeAll(async () => {
    db = await freshTable();
    Object.assign(process.env, { CERTOPS_HOME: mkdtempSync(join(tmpdir(), 'certops-consumer-')), CERTOPS_TABLE: db.table.name, CERTOPS_DYNAMODB_ENDPOINT: db.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' });
    handlers = await import('../../adapters/eventbridge/event-handler.ts');
  });
  afterAll(() => db.close());
  const context = {} as never;

  it('reports only the messages whose consumer failed; a refusal (4xx) and a body that is no event are let go', async () => {
    const batch = queueBatch('consumer', [1, 2, 3, 4].map(event));
    batch.Records[3].body = 'not json';
    const seen: number[] = [];
    const consumer = handlers.eventHandler(async (e) => {
      seen.push(e.detail.n as number);
      if (e.detail.n === 2) throw new Error('store unreachable');
      if (e.detail.n === 3) throw new ValidationError('no such certificate', 'certificateId');
    });
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'ev-2' }] });
    expect(seen.sort()).toEqual([1, 2, 3]);
  });

  it('a whole-batch consumer takes the batch in one call, in order, and fails every message of it when every part of it fails', async () => {
    const calls: number[][] = [];
    let fail = false;
    const consumer = handlers.wholeBatchHandler(async (events) => {
      calls.push(events.map((e) => e.detail.n as number));
      if (fail) throw new Error('head commit failed');
    });
    const batch = queueBatch('writer', [5, 6, 7].map(event));
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: [] });
    fail = true;
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: ['ev-5', 'ev-6', 'ev-7'].map((itemIdentifier) => ({ itemIdentifier })) });
    // The batch, then each half: both failed, so the fault is not one event's.
    expect(calls).toEqual([[5, 6, 7], [5, 6, 7], [5, 6], [7]]);
  });

  it('a whole-batch consumer halves a failed batch until it finds the one event that fails, and reports only that one', async () => {
    const calls: number[][] = [];
    const consumer = handlers.wholeBatchHandler(async (events) => {
      calls.push(events.map((e) => e.detail.n as number));
      if (events.some((e) => e.detail.n === 700)) throw new Error('item too large');
    });
    const batch = queueBatch('writer', Array.from({ length: 1000 }, (_, i) => event(i)));
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'ev-700' }] });
    // Every other event was taken, and the search took about 2·log2(1000) calls, not 1,000.
    expect(new Set(calls.filter((c) => !c.includes(700)).flat()).size).toBe(999);
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 10);
  });

  it('a whole-batch consumer lets go of one event it refuses (4xx) once it has it alone, and reports the rest of the batch taken', async () => {
    const consumer = handlers.wholeBatchHandler(async (events) => {
      if (events.some((e) => e.detail.n === 3)) throw new ValidationError('detail does not match its schema', 'detail');
    });
    expect(await consumer(queueBatch('writer', [1, 2, 3, 4].map(event)) as never, context)).toEqual({ batchItemFailures: [] });
  });
});
