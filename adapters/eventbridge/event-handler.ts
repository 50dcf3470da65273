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
 * the batch's events are consumed together, in the order received, by one call. If it fails,
 * every message of the batch is reported failed and comes back after the visibility timeout.
 */
export function wholeBatchHandler(consume: (events: ReceivedEvent[]) => Promise<void>) {
  return lambda(async (batch: SQSEvent): Promise<SQSBatchResponse> => {
    const events = batch.Records.map(received).filter((e) => e !== undefined);
    try {
      if (events.length) await consume(events);
      return { batchItemFailures: [] };
    } catch (err) {
      logger.error('event consumer failed', { messages: batch.Records.length, firstEventId: events[0]?.detail?.eventId, error: (err as Error).message });
      return { batchItemFailures: batch.Records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
  });
}
