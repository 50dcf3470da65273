import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { sendNotice } from '../../adapters/notify/channels.ts';
import { parseNotifications, type Notice } from '../../shared/notification-config.ts';
import { NOTIFYING_FUNCTIONS, recordedMock } from '../support/recorded-mock.ts';

const NOTICE: Notice = {
  eventId: 'expiring:abc:7', eventType: 'certificate.expiring', severity: 'high', title: 'api.example.com expires in 6.5 days',
  what: 'The certificate for api.example.com expires on 2026-12-08, in 6.5 days.', action: 'certops renews it automatically.',
  link: 'https://certops.example.com/#/certificates/abc', occurredAt: '2026-12-01T00:00:00.000Z', owner: 'team-a', environment: 'prod',
  certificate: { id: 'abc', subject: 'CN=api.example.com', names: ['api.example.com'], notAfter: '2026-12-08T00:00:00.000Z' },
};
const noSecrets = async () => {
  throw new Error('no secret is read');
};

/** The AWS channels (SNS, email through SES), at the SDK's boundary: what each call asks of AWS. */
describe('notifications through AWS', () => {
  const sns = recordedMock(SNSClient, 'sns', NOTIFYING_FUNCTIONS);
  const ses = recordedMock(SESv2Client, 'ses', NOTIFYING_FUNCTIONS);
  afterEach(() => {
    sns.reset();
    ses.reset();
  });
  const channels = parseNotifications({
    channels: [
      { name: 'topic', type: 'sns', topicArn: 'arn:aws:sns:eu-west-1:123456789012:certops-alerts' },
      { name: 'mail', type: 'email', to: ['team-a@example.com'], from: 'certops@example.com', sesRegion: 'eu-west-1' },
    ],
  }, (f) => f).channels;

  it('publishes to the topic in its region, with the event type and severity as message attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await sendNotice(channels[0], NOTICE, noSecrets, () => new Date());
    const [call] = sns.commandCalls(PublishCommand);
    expect(await call.thisValue.config.region()).toBe('eu-west-1');
    expect(call.args[0].input).toMatchObject({
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:certops-alerts', Subject: '[certops] api.example.com expires in 6.5 days',
      MessageAttributes: { eventType: { DataType: 'String', StringValue: 'certificate.expiring' }, severity: { DataType: 'String', StringValue: 'high' } },
    });
    expect(call.args[0].input.Message).toContain('Open it in certops: https://certops.example.com/#/certificates/abc');
  });

  it('sends the email through SES from the configured sender, and names the channel when SES refuses', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'e-1' });
    await sendNotice(channels[1], NOTICE, noSecrets, () => new Date());
    const [call] = ses.commandCalls(SendEmailCommand);
    expect(call.args[0].input).toMatchObject({ FromEmailAddress: 'certops@example.com', Destination: { ToAddresses: ['team-a@example.com'] }, Content: { Simple: { Subject: { Data: '[certops] api.example.com expires in 6.5 days' } } } });
    expect(call.args[0].input.Content?.Simple?.Body?.Text?.Data).toContain('What to do: certops renews it automatically.');
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('Email address is not verified.'), { name: 'MessageRejected' }));
    await expect(sendNotice(channels[1], NOTICE, noSecrets, () => new Date())).rejects.toThrow('notification channel mail: MessageRejected: Email address is not verified.');
  });

  it('refuses an email channel with both or neither of SMTP and SES, and a topic that is not an ARN, naming the field', () => {
    const parse = (channel: Record<string, unknown>) => () => parseNotifications({ channels: [channel] }, (f) => `config.yaml ${f}`);
    expect(parse({ name: 'm', type: 'email', to: ['a@example.com'], from: 'b@example.com' })).toThrow(/notifications\.channels\.0\.smtpHost or sesRegion is required/);
    expect(parse({ name: 'm', type: 'email', to: ['a@example.com'], from: 'b@example.com', smtpHost: 'mail', sesRegion: 'eu-west-1' })).toThrow(/not both/);
    expect(parse({ name: 't', type: 'sns', topicArn: 'alerts' })).toThrow(/notifications\.channels\.0\.topicArn must be an SNS topic ARN/);
  });
});
