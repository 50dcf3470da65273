import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import { queueBatch } from '../../local/queue-delivery.ts';
import type { EventBridgeEvent } from '../../local/local-bus.ts';
import { BusyError, ValidationError } from '../../shared/errors.ts';

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

  it('a whole-batch consumer takes the batch in one call, in order, and fails every message of it, at once, when the store is too busy', async () => {
    const calls: number[][] = [];
    let fail = false;
    const consumer = handlers.wholeBatchHandler(async (events) => {
      calls.push(events.map((e) => e.detail.n as number));
      if (fail) throw new BusyError('the audit trail is too busy to append to', 'audit');
    });
    const batch = queueBatch('writer', [5, 6, 7].map(event));
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: [] });
    fail = true;
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: ['ev-5', 'ev-6', 'ev-7'].map((itemIdentifier) => ({ itemIdentifier })) });
    // Halving would not help a store that is too busy: one try.
    expect(calls).toEqual([[5, 6, 7], [5, 6, 7]]);
  });

  it('a whole-batch consumer halves a failed batch until it finds the events that fail, reports only those, and takes the rest in the order received', async () => {
    const calls: number[][] = [];
    const taken: number[] = [];
    const consumer = handlers.wholeBatchHandler(async (events) => {
      const ns = events.map((e) => e.detail.n as number);
      calls.push(ns);
      if (ns.includes(100) || ns.includes(900)) throw new Error('item too large');
      taken.push(...ns);
    });
    const batch = queueBatch('writer', Array.from({ length: 1000 }, (_, i) => event(i)));
    expect(await consumer(batch as never, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'ev-100' }, { itemIdentifier: 'ev-900' }] });
    expect(taken).toEqual(Array.from({ length: 1000 }, (_, i) => i).filter((n) => n !== 100 && n !== 900));
    // About 2·log2(1000) tries for each of the two, not 1,000.
    expect(calls.length).toBeLessThanOrEqual(1 + 2 * 2 * 10);
  });

  it('a whole-batch consumer stops searching when the invocation is near its end, and reports what it has not resolved', async () => {
    const calls: number[][] = [];
    const consumer = handlers.wholeBatchHandler(async (events) => {
      calls.push(events.map((e) => e.detail.n as number));
      if (events.some((e) => e.detail.n === 3)) throw new Error('item too large');
    });
    const nearTheEnd = { getRemainingTimeInMillis: () => 5_000 } as never;
    expect(await consumer(queueBatch('writer', [1, 2, 3, 4].map(event)) as never, nearTheEnd)).toEqual({ batchItemFailures: ['ev-1', 'ev-2', 'ev-3', 'ev-4'].map((itemIdentifier) => ({ itemIdentifier })) });
    expect(calls).toEqual([[1, 2, 3, 4]]);
  });

  it('a whole-batch consumer lets go of one event it refuses (4xx) once it has it alone, and reports the rest of the batch taken', async () => {
    const consumer = handlers.wholeBatchHandler(async (events) => {
      if (events.some((e) => e.detail.n === 3)) throw new ValidationError('detail does not match its schema', 'detail');
    });
    expect(await consumer(queueBatch('writer', [1, 2, 3, 4].map(event)) as never, context)).toEqual({ batchItemFailures: [] });
  });
});
