import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, StartMessageMoveTaskCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { NotFoundError } from '../../shared/errors.ts';
import type { DeadLetterMessage, DeadLetterQueues } from '../../shared/ports.ts';

/** Receives asked for per listing: SQS hands out a sample of a queue per receive, so one call may miss messages another finds. */
const RECEIVE_ROUNDS = 5;

/**
 * The consumers' dead-letter queues on SQS, named `<prefix><consumer>-dlq` (deploy/consumer-queues.js).
 * Listing reads messages with a visibility timeout of 0, so they stay where they are; replay
 * redrives a queue to the queue its messages came from (StartMessageMoveTask without a
 * destination). Errors: NotFoundError (404, field `consumer`) for a consumer the suite does not have.
 */
export class SqsDeadLetterQueues implements DeadLetterQueues {
  /**
   * @param prefix queue names' prefix (`certops-<stage>-`)
   * @param consumers the functions that consume through a queue (CERTOPS_CONSUMERS)
   */
  constructor(private readonly sqs: SQSClient, private readonly prefix: string, private readonly consumers: string[]) {}

  private named(consumer: string | undefined): string[] {
    if (consumer === undefined) return this.consumers;
    if (!this.consumers.includes(consumer)) throw new NotFoundError(`no consumer ${consumer} (consumers: ${this.consumers.join(', ')})`, 'consumer');
    return [consumer];
  }

  private async queue(consumer: string): Promise<{ url: string; arn: string; approximateCount: number }> {
    const { QueueUrl } = await this.sqs.send(new GetQueueUrlCommand({ QueueName: `${this.prefix}${consumer}-dlq` }));
    const { Attributes } = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn!, approximateCount: Number(Attributes!.ApproximateNumberOfMessages ?? 0) };
  }

  private async peek(url: string, limit: number): Promise<DeadLetterMessage[]> {
    const seen = new Map<string, DeadLetterMessage>();
    for (let round = 0; round < RECEIVE_ROUNDS && seen.size < limit; round++) {
      const { Messages = [] } = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: Math.min(10, limit - seen.size), VisibilityTimeout: 0, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
      const fresh = Messages.filter((m) => !seen.has(m.MessageId!));
      if (!fresh.length) break;
      for (const m of fresh) seen.set(m.MessageId!, message(m.MessageId!, m.Body ?? '', Number(m.Attributes?.ApproximateReceiveCount ?? 0)));
    }
    return [...seen.values()];
  }

  async list(consumer: string | undefined, limit: number) {
    return Promise.all(this.named(consumer).map(async (name) => {
      const queue = await this.queue(name);
      return { consumer: name, approximateCount: queue.approximateCount, messages: queue.approximateCount ? await this.peek(queue.url, limit) : [] };
    }));
  }

  async replay(consumer: string | undefined) {
    return Promise.all(this.named(consumer).map(async (name) => {
      const queue = await this.queue(name);
      if (!queue.approximateCount) return { consumer: name, approximateCount: 0 };
      const { TaskHandle } = await this.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queue.arn }));
      return { consumer: name, approximateCount: queue.approximateCount, taskHandle: TaskHandle };
    }));
  }
}

/** A dead letter's body is the EventBridge event the rule sent; anything else is shown as what it is. */
function message(messageId: string, body: string, receiveCount: number): DeadLetterMessage {
  try {
    const e = JSON.parse(body) as { id: string; source: string; 'detail-type': string; time: string; detail: Record<string, unknown> };
    return { messageId, eventId: e.id, source: e.source, detailType: e['detail-type'], time: e.time, detail: e.detail, receiveCount };
  } catch {
    return { messageId, eventId: '', source: '', detailType: '', time: '', detail: { body: body.slice(0, 1000) }, receiveCount };
  }
}
