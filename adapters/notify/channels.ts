import { createTransport } from 'nodemailer';
import { SERVICE_URL, type ChannelConfig, type Notice, type NoticeSeverity } from '../../shared/notification-config.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from '../targets/webhook-target.ts';
import { recordingCalls } from '../aws/call-recorder.ts';

/** Reads a secret a channel names (`env:NAME` or `secretsmanager:ID`). */
export type SecretReader = (ref: string, field: string) => Promise<string>;

const TIMEOUT_MS = 10_000;

/** POSTs JSON; a non-2xx answer or no answer within the timeout throws, naming the channel (its queue retries it). */
async function postJson(channel: string, url: string, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text, signal: AbortSignal.timeout(TIMEOUT_MS) })
    .catch((err: Error) => {
      throw new Error(`notification channel ${channel}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    });
  if (!res.ok) throw new Error(`notification channel ${channel}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
}

/** Slack's mrkdwn: &, < and > are control characters (mentions, links); as text they are escaped (api.slack.com, "Formatting text"). */
const slackText = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
/** Teams' TextBlock reads a subset of Markdown: names and reasons from certificates are shown as written, not as links or emphasis. */
const teamsText = (text: string) => text.replace(/[\\`*_[\]()#<>~|]/g, (c) => `\\${c}`);
/** A webhook URL read from a secret goes out only over https (or to this machine). */
function serviceUrl(channel: string, url: string): string {
  if (!SERVICE_URL.test(url)) throw new Error(`notification channel ${channel}: its webhook URL must be https://`);
  return url;
}

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

/** The notice as plain text: what happened, which certificate, what to do, where to look. */
export function noticeText(n: Notice): string {
  return [
    n.what,
    ...(n.certificate ? ['', `Certificate: ${n.certificate.subject} (${n.certificate.names.join(', ')}), expires ${n.certificate.notAfter}`, `Owner: ${n.owner ?? '-'}, environment: ${n.environment ?? '-'}`] : []),
    '',
    `What to do: ${n.action}`,
    '',
    `Open it in certops: ${n.link}`,
  ].join('\n');
}

type EmailChannel = Extract<ChannelConfig, { type: 'email' }>;

async function smtpPassword(channel: EmailChannel, secret: SecretReader): Promise<string | undefined> {
  return channel.smtpPasswordRef ? secret(channel.smtpPasswordRef, `notifications.channels.${channel.name}.smtpPasswordRef`) : undefined;
}

const subject = (notice: Notice) => `[certops] ${notice.title}`;

async function sendWithSmtp(channel: EmailChannel, notice: Notice, password: string | undefined): Promise<void> {
  const transport = createTransport({
    host: channel.smtpHost, port: channel.smtpPort, secure: channel.smtpSecure,
    auth: channel.smtpUser ? { user: channel.smtpUser, pass: password ?? '' } : undefined,
    connectionTimeout: TIMEOUT_MS, greetingTimeout: TIMEOUT_MS, socketTimeout: TIMEOUT_MS,
  });
  try {
    await transport.sendMail({ from: channel.from, to: channel.to, subject: subject(notice), text: noticeText(notice), headers: { 'x-certops-event-id': notice.eventId } });
  } catch (err) {
    throw new Error(`notification channel ${channel.name}: ${(err as Error).message}`);
  } finally {
    transport.close();
  }
}

/** Amazon SES (API v2 SendEmail): the sender must be an identity SES verified in that region. */
async function sendWithSes(channel: EmailChannel, notice: Notice): Promise<void> {
  const { SESv2Client, SendEmailCommand } = await import('@aws-sdk/client-sesv2');
  const ses = recordingCalls(new SESv2Client({ region: channel.sesRegion }), 'ses');
  await ses.send(new SendEmailCommand({
    FromEmailAddress: channel.from,
    Destination: { ToAddresses: channel.to },
    Content: { Simple: { Subject: { Data: subject(notice), Charset: 'UTF-8' }, Body: { Text: { Data: noticeText(notice), Charset: 'UTF-8' } }, Headers: [{ Name: 'X-Certops-Event-Id', Value: notice.eventId }] } },
  })).catch((err: Error) => {
    throw new Error(`notification channel ${channel.name}: ${err.name}: ${err.message}`);
  });
}

const SERVICENOW_LEVEL: Record<NoticeSeverity, '1' | '2' | '3'> = { critical: '1', high: '1', medium: '2', low: '3', info: '3' };

/** PagerDuty Events v2 knows four severities. */
const PAGERDUTY_SEVERITY: Record<NoticeSeverity, 'critical' | 'error' | 'warning' | 'info'> = { critical: 'critical', high: 'error', medium: 'warning', low: 'info', info: 'info' };

/**
 * Sends one notice on one channel, in the payload that service documents:
 * - email: a text message over SMTP (nodemailer) or Amazon SES (SendEmail, API v2), subject `[certops] <title>`;
 * - sns: a Publish to the topic, the text as the message and the event type and severity as message attributes;
 * - slack: an incoming webhook's `text` and `blocks` (api.slack.com/messaging/webhooks);
 * - teams: an incoming webhook's message with an Adaptive Card attachment (learn.microsoft.com, "Create an Incoming Webhook");
 * - pagerduty: an Events API v2 `trigger`, deduplicated by the event's id (developer.pagerduty.com, Events API v2);
 * - jira: an issue in the project (REST API v3, basic auth with an API token), the notice as its description;
 * - servicenow: an incident (Table API, basic auth), correlated by the event's id;
 * - webhook: the notice as JSON, signed like deployment webhooks: `x-certops-signature: sha256=HMAC(key, "<timestamp>.<body>")`.
 * @throws Error naming the channel when the service refuses or cannot be reached.
 */
export async function sendNotice(channel: ChannelConfig, notice: Notice, secret: SecretReader, now: () => Date): Promise<void> {
  const field = (key: string) => `notifications.channels.${channel.name}.${key}`;
  switch (channel.type) {
    case 'email':
      return channel.sesRegion ? sendWithSes(channel, notice) : sendWithSmtp(channel, notice, await smtpPassword(channel, secret));
    case 'sns': {
      const { SNSClient, PublishCommand } = await import('@aws-sdk/client-sns');
      const sns = recordingCalls(new SNSClient({ region: channel.topicArn.split(':')[3] }), 'sns');
      await sns.send(new PublishCommand({ TopicArn: channel.topicArn, Subject: `[certops] ${notice.title}`.slice(0, 100).replace(/[^\x20-\x7e]/g, '?'), Message: noticeText(notice), MessageAttributes: { eventType: { DataType: 'String', StringValue: notice.eventType }, severity: { DataType: 'String', StringValue: notice.severity } } }))
        .catch((err: Error) => {
          throw new Error(`notification channel ${channel.name}: ${err.name}: ${err.message}`);
        });
      return;
    }
    case 'slack':
      return postJson(channel.name, serviceUrl(channel.name, await secret(channel.urlRef, field('urlRef'))), {
        text: `${slackText(notice.title)}: ${notice.link}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: notice.title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: slackText(notice.what).slice(0, 3000) } },
          { type: 'section', text: { type: 'mrkdwn', text: `*What to do:* ${slackText(notice.action)}`.slice(0, 3000) } },
          { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in certops' }, url: notice.link }] },
        ],
      });
    case 'teams':
      return postJson(channel.name, serviceUrl(channel.name, await secret(channel.urlRef, field('urlRef'))), {
        type: 'message',
        attachments: [{
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4',
            body: [
              { type: 'TextBlock', text: teamsText(notice.title), weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'TextBlock', text: teamsText(notice.what), wrap: true },
              { type: 'TextBlock', text: `What to do: ${teamsText(notice.action)}`, wrap: true },
            ],
            actions: [{ type: 'Action.OpenUrl', title: 'Open in certops', url: notice.link }],
          },
        }],
      });
    case 'pagerduty':
      return postJson(channel.name, channel.eventsUrl, {
        routing_key: await secret(channel.routingKeyRef, field('routingKeyRef')),
        event_action: 'trigger',
        dedup_key: `certops:${notice.eventId}`,
        payload: {
          summary: notice.title.slice(0, 1024), source: 'certops', severity: PAGERDUTY_SEVERITY[notice.severity], timestamp: notice.occurredAt,
          component: notice.certificate?.id, class: notice.eventType,
          custom_details: { what: notice.what, action: notice.action, owner: notice.owner, environment: notice.environment },
        },
        links: [{ href: notice.link, text: 'Open in certops' }],
      });
    case 'jira':
      return postJson(channel.name, `${channel.baseUrl}/rest/api/3/issue`, {
        fields: {
          project: { key: channel.projectKey }, issuetype: { name: channel.issueType }, summary: `[certops] ${notice.title}`.slice(0, 255), labels: ['certops', notice.eventType.replace('.', '-')],
          // Atlassian Document Format: a paragraph per part of the notice.
          description: { type: 'doc', version: 1, content: noticeText(notice).split('\n\n').map((part) => ({ type: 'paragraph', content: [{ type: 'text', text: part }] })) },
        },
      }, basic(channel.user, await secret(channel.tokenRef, field('tokenRef'))));
    case 'servicenow':
      return postJson(channel.name, `${channel.instanceUrl}/api/now/table/incident`, {
        short_description: `[certops] ${notice.title}`.slice(0, 160), description: noticeText(notice), correlation_id: `certops:${notice.eventId}`, category: 'certops',
        // 1 high .. 3 low, for urgency and impact alike.
        urgency: SERVICENOW_LEVEL[notice.severity], impact: SERVICENOW_LEVEL[notice.severity],
      }, basic(channel.user, await secret(channel.passwordRef, field('passwordRef'))));
    case 'webhook': {
      const body = JSON.stringify(notice);
      const timestamp = String(Math.floor(now().getTime() / 1000));
      const key = await secret(channel.secretRef, field('secretRef'));
      return postJson(channel.name, channel.url, notice, { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: webhookSignature(key, timestamp, body) });
    }
  }
}
