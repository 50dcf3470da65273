import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BatchItemFailures, type EventBridgeEvent } from './local-bus.ts';

/** The batch an SQS event source mapping hands a consumer for events its rule sent to the queue (deploy/consumer-queues.js): one message per event. */
export function queueBatch(fn: string, events: EventBridgeEvent[]): SQSEvent {
  return {
    Records: events.map((event) => ({
      messageId: event.id, receiptHandle: event.id, body: JSON.stringify(event), md5OfBody: '',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.parse(event.time)), SenderId: 'events.amazonaws.com', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {}, eventSource: 'aws:sqs', eventSourceARN: `arn:aws:sqs:${event.region}:${event.account}:certops-local-${fn}`, awsRegion: event.region,
    })),
  };
}

/**
 * The local bus's delivery to a consumer, as on AWS through its queue: the consumer gets a batch
 * and answers which messages failed (a partial batch response); those fail the delivery with
 * BatchItemFailures, and the bus retries them (only them: the queue deletes the others) and
 * finally dead-letters them, as the queue's redrive would.
 */
export async function deliverThroughQueue(invoke: (fn: string, event: unknown) => Promise<unknown>, fn: string, events: EventBridgeEvent[]): Promise<void> {
  const answer = (await invoke(fn, queueBatch(fn, events))) as SQSBatchResponse | undefined;
  const failed = new Set(answer?.batchItemFailures?.map((f) => f.itemIdentifier));
  if (failed.size) throw new BatchItemFailures(fn, events, failed);
}
