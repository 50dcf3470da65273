import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { EventBridgeEvent } from './local-bus.ts';

/** The one-message batch an SQS event source mapping hands a consumer for the event its rule sent to the queue (deploy/consumer-queues.js). */
export function queueBatch(fn: string, event: EventBridgeEvent, receiveCount = 1): SQSEvent {
  const queueArn = `arn:aws:sqs:${event.region}:${event.account}:certops-local-${fn}`;
  return {
    Records: [{
      messageId: event.id, receiptHandle: event.id, body: JSON.stringify(event), md5OfBody: '',
      attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: String(Date.parse(event.time)), SenderId: 'events.amazonaws.com', ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {}, eventSource: 'aws:sqs', eventSourceARN: queueArn, awsRegion: event.region,
    }],
  };
}

/**
 * The local bus's delivery to a consumer, as on AWS through its queue: the consumer gets a batch
 * and answers which messages failed (a partial batch response); a failed message is a failed
 * delivery, which the bus retries and finally dead-letters, as the queue's redrive would.
 */
export async function deliverThroughQueue(invoke: (fn: string, event: unknown) => Promise<unknown>, fn: string, event: EventBridgeEvent): Promise<void> {
  const answer = (await invoke(fn, queueBatch(fn, event))) as SQSBatchResponse | undefined;
  if (answer?.batchItemFailures?.length) throw new Error(`${fn} reported the event ${event.id} (${event['detail-type']}) failed: its log says why`);
}
