import { lambda } from '../lambda.ts';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { BusEvent, EventDetail } from '../../shared/events/envelope.ts';
import { CertopsError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';

/** The bus event as services see it, plus EventBridge's own id for consumers that dedupe on it. */
export type ReceivedEvent = BusEvent & { id: string };

/**
 * A Lambda handler for a consumer's queue (deploy/consumer-queues.js): each SQS record's body is
 * the EventBridge event its rule matched. The events of a batch are consumed side by side; the
 * answer is a partial batch response (Lambda's ReportBatchItemFailures) naming the messages whose
 * consumer failed, which come back after the visibility timeout and go to the consumer's
 * dead-letter queue after the queue's maxReceiveCount. Consumers must therefore be idempotent.
 * Refusals (4xx errors) fail the same way every time: logged, and not retried.
 */
export function eventHandler(consume: (event: ReceivedEvent) => Promise<void>) {
  return lambda(async (batch: SQSEvent): Promise<SQSBatchResponse> => {
    const outcomes = await Promise.all(batch.Records.map(async (record) => {
      let event: EventBridgeEvent<string, EventDetail>;
      try {
        event = JSON.parse(record.body);
      } catch {
        // Nothing a rule sends: no retry makes it an event.
        logger.warn('event refused', { messageId: record.messageId, error: 'the message body is not JSON' });
        return undefined;
      }
      try {
        await consume({ id: event.id, source: event.source, detailType: event['detail-type'], detail: event.detail });
        return undefined;
      } catch (err) {
        const described = { messageId: record.messageId, detailType: event['detail-type'], eventId: event.detail?.eventId ?? event.id, receiveCount: record.attributes?.ApproximateReceiveCount, error: (err as Error).message };
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
