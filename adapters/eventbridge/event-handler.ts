import { lambda } from '../lambda.ts';
import type { EventBridgeEvent } from 'aws-lambda';
import type { BusEvent, EventDetail } from '../../shared/events/envelope.ts';
import { CertopsError } from '../../shared/errors.ts';
import { logger } from '../logger.ts';

/** The bus event as services see it, plus EventBridge's own id for consumers that dedupe on it. */
export type ReceivedEvent = BusEvent & { id: string };

/**
 * A Lambda handler for EventBridge rule targets. Errors propagate so EventBridge (or the local
 * bus) retries and finally dead-letters the event; consumers must therefore be idempotent.
 * Refusals (4xx errors) are not retried.
 */
export function eventHandler(consume: (event: ReceivedEvent) => Promise<void>) {
  return lambda(async (event: EventBridgeEvent<string, EventDetail>) => {
    try {
      await consume({ id: event.id, source: event.source, detailType: event['detail-type'], detail: event.detail });
    } catch (err) {
      // A malformed event fails the same way on every retry: log it and let it go.
      if (err instanceof CertopsError && err.status < 500) {
        logger.warn('event refused', { detailType: event['detail-type'], eventId: event.detail?.eventId ?? event.id, error: err.message, field: err.field });
        return;
      }
      logger.error('event consumer failed', { detailType: event['detail-type'], eventId: event.detail?.eventId ?? event.id, error: (err as Error).message });
      throw err;
    }
  });
}
