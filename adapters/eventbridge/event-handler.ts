import { lambda } from '../lambda.ts';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BusEvent, EventDetail } from '../../shared/events/envelope.ts';
import { CertopsError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';

/** The bus event as services see it, plus EventBridge's own id for consumers that dedupe on it. */
export type ReceivedEvent = BusEvent & { id: string };

/** The event a queue message carries (its rule sent the EventBridge event as the body); a body that is none is logged and let go: no retry makes it one. */
function received(record: SQSRecord): ReceivedEvent | undefined {
  try {
    const event = JSON.parse(record.body) as EventBridgeEvent<string, EventDetail>;
    return { id: event.id, source: event.source, detailType: event['detail-type'], detail: event.detail };
  } catch {
    logger.warn('event refused', { messageId: record.messageId, error: 'the message body is not JSON' });
    return undefined;
  }
}

/**
 * A Lambda handler for a consumer's queue (deploy/consumer-queues.js): each SQS record's body is
 * the EventBridge event its rule matched. The events of a batch are consumed side by side; the
 * answer is a partial batch response (Lambda's ReportBatchItemFailures) naming the messages whose
 * consumer failed, which come back after the visibility timeout and go to the consumer's
 * dead-letter queue after the queue's maxReceiveCount. Consumers must therefore be idempotent.
 * Refusals (4xx errors) fail the same way every time: logged, and not retried.
 */
export function eventHandler(consume: (event: ReceivedEvent, context: Context) => Promise<void>) {
  return lambda(async (batch: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const outcomes = await Promise.all(batch.Records.map(async (record) => {
      const event = received(record);
      if (!event) return undefined;
      try {
        await consume(event, context);
        return undefined;
      } catch (err) {
        const described = { messageId: record.messageId, detailType: event.detailType, eventId: event.detail?.eventId ?? event.id, receiveCount: record.attributes?.ApproximateReceiveCount, error: (err as Error).message };
        // A malformed event fails the same way on every retry: logged and let go.
        if (err instanceof CertopsError && err.status < 500) {
          logger.warn('event refused', { ...described, field: err.field });
          return undefined;
        }
        logger.error('event consumer failed', described);
        return { itemIdentifier: record.messageId };
      }
    }));
    return { batchItemFailures: outcomes.filter((o) => o !== undefined) };
  });
}

/**
 * A Lambda handler for a consumer that takes its queue's batches whole (`consumes.wholeBatch`):
 * the batch's events are consumed together, in the order received, by one call. If that fails,
 * the batch is halved until the events that fail are found (`failing`), and only their messages
 * are reported failed: they come back after the visibility timeout, and go to the dead-letter
 * queue on their own, not with the batch they came in. An event refused (a 4xx error) alone fails
 * the same way every time: logged, and let go.
 */
export function wholeBatchHandler(consume: (events: ReceivedEvent[]) => Promise<void>) {
  return lambda(async (batch: SQSEvent): Promise<SQSBatchResponse> => {
    const messages = batch.Records.flatMap((record) => {
      const event = received(record);
      return event ? [{ messageId: record.messageId, event }] : [];
    });
    const take = async (part: typeof messages): Promise<unknown> => {
      try {
        await consume(part.map((m) => m.event));
        return undefined;
      } catch (err) {
        return err;
      }
    };
    const error = messages.length ? await take(messages) : undefined;
    if (!error) return { batchItemFailures: [] };
    const failures = await failing(messages, error, take);
    const refused = (f: Failure<unknown>) => f.items.length === 1 && f.error instanceof CertopsError && f.error.status < 500;
    for (const f of failures) {
      const described = { messages: f.items.length, firstEventId: f.items[0].event.detail?.eventId ?? f.items[0].event.id, error: (f.error as Error)?.message };
      if (refused(f)) logger.warn('event refused', { ...described, field: (f.error as CertopsError).field });
      else logger.error('event consumer failed', described);
    }
    return { batchItemFailures: failures.filter((f) => !refused(f)).flatMap((f) => f.items.map((m) => ({ itemIdentifier: m.messageId }))) };
  });
}

/** Items that failed together, and the error they failed with. */
export interface Failure<T> {
  items: T[];
  error: unknown;
}

/**
 * The parts of `items` (which failed whole with `error`) that fail, found by halving: each half is
 * tried on its own, and a half that fails while the other was taken is halved in turn, so one
 * event that can never be taken is found in about 2·log2(n) tries. When both halves fail, the
 * fault is not one item's (the store is down, or several are bad): the part is reported whole,
 * after two more tries, not the 2n a full split would make.
 */
export async function failing<T>(items: T[], error: unknown, take: (part: T[]) => Promise<unknown>): Promise<Failure<T>[]> {
  if (items.length === 1) return [{ items, error }];
  const middle = Math.ceil(items.length / 2);
  const halves = [items.slice(0, middle), items.slice(middle)];
  const errors = [await take(halves[0]), await take(halves[1])];
  if (errors[0] && errors[1]) return [{ items, error: errors[1] }];
  const bad = errors[0] ? 0 : errors[1] ? 1 : -1;
  // Both halves were taken this time: what failed before does not fail now.
  if (bad < 0) return [];
  return failing(halves[bad], errors[bad], take);
}
