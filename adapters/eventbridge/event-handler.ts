import { lambda } from '../lambda.ts';
import type { Context, EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BusEvent, EventDetail } from '../../shared/events/envelope.ts';
import { BusyError, CertopsError } from '../../shared/errors.ts';
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
 * the batch's events are consumed together, in the order received, by one call. If that fails
 * for a reason that may be one event's, the batch is halved until the events that fail are found
 * (`failing`), and only their messages are reported failed: they come back after the visibility
 * timeout, and go to the dead-letter queue on their own, not with the batch they came in. An event
 * refused (a 4xx error) alone fails the same way every time: logged, and let go.
 */
export function wholeBatchHandler(consume: (events: ReceivedEvent[]) => Promise<void>) {
  return lambda(async (batch: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
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
    const failures = await failing(messages, error, take, () => context?.getRemainingTimeInMillis?.() ?? Infinity);
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
interface Failure<T> {
  items: T[];
  error: unknown;
}

/** The time a try may take at most (a commit's retries, a sink's send): the search stops with this much of the invocation left. */
const SEARCH_RESERVE_MS = 10_000;

/**
 * A failure that is the store's or a service's, not one item's: the trail too busy, a throttled or
 * 5xx answer. Halving would only add tries; the queue tries the batch again later.
 */
function notAboutOneItem(err: unknown): boolean {
  const e = err as { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; name?: unknown } | undefined;
  return err instanceof BusyError || Boolean(e?.$retryable) || (e?.$metadata?.httpStatusCode ?? 0) >= 500 || /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded/.test(String(e?.name));
}

/**
 * The parts of `items` (which failed whole with `error`) that fail, found by halving, in order: the
 * first half is tried and, if it fails, searched before the second is tried, so what is taken is
 * taken in the order received. k items that can never be taken are found in about 2·k·log2(n)
 * tries. The search stops (what it has not resolved reported failed as it stands) on a failure
 * that is not about one item, and when less than SEARCH_RESERVE_MS of `timeLeftMs()` remains.
 */
async function failing<T>(items: T[], error: unknown, take: (part: T[]) => Promise<unknown>, timeLeftMs: () => number): Promise<Failure<T>[]> {
  if (items.length === 1 || notAboutOneItem(error)) return [{ items, error }];
  const middle = Math.ceil(items.length / 2);
  const found: Failure<T>[] = [];
  for (const half of [items.slice(0, middle), items.slice(middle)]) {
    if (timeLeftMs() < SEARCH_RESERVE_MS) {
      found.push({ items: half, error });
      continue;
    }
    const failed = await take(half);
    if (failed) found.push(...(await failing(half, failed, take, timeLeftMs)));
  }
  return found;
}
