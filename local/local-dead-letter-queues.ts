import { createHash } from 'node:crypto';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import type { DeadLetter } from '../shared/model.ts';
import type { DeadLetterStore } from '../shared/ports.ts';
import type { LocalBus, Rule } from './local-bus.ts';
import { requiredString } from '../shared/input.ts';

const ACCOUNT = '000000000000';

/**
 * The consumers' dead-letter queues as the local endpoint serves them, in SQS's JSON protocol
 * (GetQueueUrl, GetQueueAttributes, ReceiveMessage, StartMessageMoveTask): the local bus's dead
 * letters of each consumer's rules are its queue `certops-<stage>-<consumer>-dlq`, so the same
 * adapter (adapters/aws/sqs-dead-letter-queues.ts) reads and redrives them here and on AWS.
 */
export function deadLetterQueueOperations(options: { stage: string; baseUrl: () => string; rules: Rule[]; deadLetters: () => DeadLetterStore; bus: () => LocalBus }) {
  const prefix = `certops-${options.stage}-`;
  const consumerOf = (queueName: string) => {
    const fn = /^(.+)-dlq$/.exec(queueName.startsWith(prefix) ? queueName.slice(prefix.length) : '');
    const rule = options.rules.find((r) => r.fn === fn?.[1]);
    if (!rule) throw new NotFoundError(`no queue ${queueName}`, 'QueueUrl');
    return rule.fn;
  };
  const fromUrl = (input: Record<string, unknown>) => consumerOf(requiredString(input, 'QueueUrl', 2048).split('/').pop()!);
  const lettersOf = async (fn: string): Promise<DeadLetter[]> => {
    const rules = new Set(options.rules.filter((r) => r.fn === fn).map((r) => r.name));
    return (await options.deadLetters().list()).filter((l) => rules.has(l.rule));
  };
  const body = (l: DeadLetter) => JSON.stringify({ version: '0', id: l.id.slice(l.id.indexOf(':') + 1), source: l.event.source, 'detail-type': l.event.detailType, time: l.failedAt, detail: l.event.detail });
  return {
    'AmazonSQS.GetQueueUrl': async (input: Record<string, unknown>) => {
      const name = requiredString(input, 'QueueName', 80);
      consumerOf(name);
      return { QueueUrl: `${options.baseUrl()}/${ACCOUNT}/${name}` };
    },
    'AmazonSQS.GetQueueAttributes': async (input: Record<string, unknown>) => {
      const url = requiredString(input, 'QueueUrl', 2048);
      const fn = fromUrl(input);
      return { Attributes: { QueueArn: `arn:aws:sqs:local:${ACCOUNT}:${url.split('/').pop()}`, ApproximateNumberOfMessages: String((await lettersOf(fn)).length) } };
    },
    'AmazonSQS.ReceiveMessage': async (input: Record<string, unknown>) => {
      const max = input.MaxNumberOfMessages ?? 1;
      if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 10) throw new ValidationError('MaxNumberOfMessages must be 1 to 10', 'MaxNumberOfMessages');
      const letters = (await lettersOf(fromUrl(input))).slice(0, max as number);
      return {
        Messages: letters.map((l) => {
          const text = body(l);
          return { MessageId: l.id, ReceiptHandle: l.id, Body: text, MD5OfBody: createHash('md5').update(text).digest('hex'), Attributes: { ApproximateReceiveCount: String(l.attempts) } };
        }),
      };
    },
    'AmazonSQS.StartMessageMoveTask': async (input: Record<string, unknown>) => {
      const fn = consumerOf(requiredString(input, 'SourceArn', 2048).split(':').pop()!);
      for (const letter of await lettersOf(fn)) await options.bus().replay(letter.id);
      return { TaskHandle: `local-move-${fn}-${Date.now()}` };
    },
  };
}
