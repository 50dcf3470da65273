import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsDeadLetterQueues } from '../adapters/aws/sqs-dead-letter-queues.ts';
import { cli } from './support/cli.ts';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { recordedMock } from './support/recorded-mock.ts';

const event = (id: string) => JSON.stringify({ version: '0', id, source: 'certops.issuance', 'detail-type': 'certificate.issued', time: '2026-12-01T00:00:00Z', detail: { certificateId: 'c1', eventId: `e-${id}` } });

describe('dead-letter queues on SQS (SDK mock at the AWS boundary)', () => {
  const sqs = recordedMock(SQSClient, 'sqs', ['inventoryDeadLetters']);
  const url = (name: string) => `https://sqs.eu-west-1.amazonaws.com/111122223333/${name}`;
  const queues = new SqsDeadLetterQueues(new SQSClient({ region: 'eu-west-1' }), 'certops-prod-', ['deploymentEvents', 'siemExportEvents']);

  beforeAll(() => {
    sqs.on(GetQueueUrlCommand).callsFake(({ QueueName }) => ({ QueueUrl: url(QueueName) }));
    sqs.on(GetQueueAttributesCommand).callsFake(({ QueueUrl }) => ({
      Attributes: { QueueArn: `arn:aws:sqs:eu-west-1:111122223333:${QueueUrl.split('/').pop()}`, ApproximateNumberOfMessages: QueueUrl.endsWith('deploymentEvents-dlq') ? '3' : '0' },
    }));
    // SQS samples its servers: the second receive finds a message the first did not, the third nothing new.
    sqs.on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'm1', Body: event('a'), Attributes: { ApproximateReceiveCount: '5' } }, { MessageId: 'm2', Body: event('b'), Attributes: { ApproximateReceiveCount: '6' } }] })
      .resolvesOnce({ Messages: [{ MessageId: 'm2', Body: event('b') }, { MessageId: 'm3', Body: 'not json', Attributes: { ApproximateReceiveCount: '5' } }] })
      .resolves({ Messages: [{ MessageId: 'm1', Body: event('a') }] });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
  });
  afterAll(() => sqs.restore());

  it('lists each consumer\'s dead letters in place (visibility timeout 0), across receives, each message once', async () => {
    const [deployment, siem] = await queues.list(undefined, 20);
    expect(siem).toEqual({ consumer: 'siemExportEvents', approximateCount: 0, messages: [] });
    expect(deployment.approximateCount).toBe(3);
    expect(deployment.messages.map((m) => [m.messageId, m.eventId, m.detailType, m.receiveCount])).toEqual([['m1', 'a', 'certificate.issued', 5], ['m2', 'b', 'certificate.issued', 6], ['m3', '', '', 5]]);
    expect(deployment.messages[2].detail).toEqual({ body: 'not json' });
    const receives = sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input);
    expect(receives.every((r) => r.VisibilityTimeout === 0 && r.QueueUrl === url('certops-prod-deploymentEvents-dlq'))).toBe(true);
    expect(receives).toHaveLength(3);
  });

  it('replays by redriving a dead-letter queue to its source queue, only where there is something to move', async () => {
    expect(await queues.replay(undefined)).toEqual([
      { consumer: 'deploymentEvents', approximateCount: 3, taskHandle: 'task-1' },
      { consumer: 'siemExportEvents', approximateCount: 0 },
    ]);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([{ SourceArn: 'arn:aws:sqs:eu-west-1:111122223333:certops-prod-deploymentEvents-dlq' }]);
  });

  it('refuses a consumer the suite does not have, naming the field', async () => {
    await expect(queues.list('nobody', 10)).rejects.toMatchObject({ status: 404, field: 'consumer' });
    await expect(queues.replay('nobody')).rejects.toMatchObject({ status: 404, field: 'consumer' });
  });
});

/**
 * The local stack delivers to each consumer as its queue does on AWS: a batch, a partial batch
 * response, retries, then the consumer's dead-letter queue, which `certops dead-letters` reads
 * and redrives through the same SQS adapter (the local endpoint speaks SQS's protocol).
 */
describe('certops dead-letters on the local stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-dlq-'));
  const blocked = join(home, 'targets', 'blocked');
  let stack: RunningStack;
  let env: Record<string, string>;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${env.CERTOPS_TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    stack = await startStack(home, { CERTOPS_BUS_MAX_ATTEMPTS: '2', CERTOPS_BUS_RETRY_MS: '50' });
    env = { CERTOPS_HOME: home, CERTOPS_TOKEN: readFileSync(stack.tokenFile, 'utf8').trim() };
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('a deployment that keeps failing waits in deploymentEvents\' dead-letter queue; once the cause is fixed, replay deploys it', async () => {
    // The target's folder cannot be made: a file stands where its parent should be.
    mkdirSync(join(home, 'targets'), { recursive: true });
    writeFileSync(blocked, 'in the way');
    expect((await api('POST', '/targets', { name: 'blocked', type: 'filesystem', directory: join(blocked, 'site') })).status).toBe(201);
    const issued = await api('POST', '/certificates', { commonName: 'dead-letter.example.com', targets: ['blocked'] });
    expect(issued.status).toBe(201);

    const listed = await eventually(async () => {
      const r = await cli(['dead-letters', 'list', '--json'], env);
      const queue = JSON.parse(r.stdout).queues.find((q: { consumer: string }) => q.consumer === 'deploymentEvents');
      return queue.approximateCount > 0 && queue;
    }, 'the dead letter');
    expect(listed.messages).toEqual([expect.objectContaining({ detailType: 'certificate.issued', source: 'certops.issuance', receiveCount: 2, detail: expect.objectContaining({ certificateId: issued.body.certificateId }) })]);
    const human = await cli(['dead-letters', 'list', '--consumer', 'deploymentEvents'], env);
    expect(human.stdout).toMatch(/^deploymentEvents: 1 dead letter\(s\)\n {2}\S+ {2}certificate\.issued {2}from certops\.issuance at /);

    rmSync(blocked);
    const replayed = await cli(['dead-letters', 'replay', '--consumer', 'deploymentEvents'], env);
    expect(replayed).toMatchObject({ code: 0, stdout: 'deploymentEvents: 1 dead letter(s) going back to its queue\n' });
    await eventually(async () => existsSync(join(blocked, 'site', 'cert.pem')), 'the replayed deployment');
    expect((await api('GET', '/dead-letters?consumer=deploymentEvents')).body.queues[0]).toMatchObject({ approximateCount: 0, messages: [] });
  });

  it('refuses an unknown consumer with a 404 naming the field, and a viewer outright', async () => {
    expect(await api('GET', '/dead-letters?consumer=nobody')).toMatchObject({ status: 404, body: { error: { field: 'consumer' } } });
    const bad = await cli(['dead-letters', 'replay', '--consumer', 'nobody'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    const viewer = (await api('POST', '/tokens', { name: 'dlq-viewer', role: 'viewer' })).body.token;
    const res = await fetch(`${stack.url}/dead-letters`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(res.status).toBe(403);
  });
});
