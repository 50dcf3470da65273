import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { EventBridgeEvent } from './local-bus.ts';

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
 * and answers which messages failed (a partial batch response); a failed message fails the
 * delivery, which the bus retries and finally dead-letters, as the queue's redrive would (an
 * event-at-a-time rule's batches hold one event, so only that one is tried again).
 */
export async function deliverThroughQueue(invoke: (fn: string, event: unknown) => Promise<unknown>, fn: string, events: EventBridgeEvent[]): Promise<void> {
  const answer = (await invoke(fn, queueBatch(fn, events))) as SQSBatchResponse | undefined;
  const failed = new Set(answer?.batchItemFailures?.map((f) => f.itemIdentifier));
  if (failed.size) throw new Error(`${fn} reported ${events.filter((e) => failed.has(e.id)).map((e) => `${e.id} (${e['detail-type']})`).join(', ')} failed: its log says why`);
}
