import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST } from '../support/crash.ts';
import { eventually, startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';
import { makeChain } from '../support/pki.ts';
import { startTestLog, x509Leaf } from '../support/ct-test-log.ts';
import { toPem } from '../../shared/x509/pem.ts';

const DAY_MS = 86_400_000;

/** A real SMTP server (smtp-server) that keeps every message it is handed, parsed (mailparser). */
async function startSmtp() {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, done) {
      simpleParser(stream).then((mail) => (mails.push(mail), done()), done);
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { mails, port: (server.server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** HTTP receivers for Slack, Teams, PagerDuty and a signed webhook: each keeps what it received; `failNext` makes one answer 503. */
async function startReceivers() {
  const received: Record<string, { headers: Record<string, string | string[] | undefined>; body: string }[]> = {};
  const failNext: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (failNext[path]) {
        failNext[path]--;
        res.writeHead(503).end('busy');
        return;
      }
      (received[path] ??= []).push({ headers: req.headers, body });
      res.writeHead(path === '/pagerduty' ? 202 : 200, { 'content-type': 'application/json' }).end(path === '/pagerduty' ? '{"status":"success"}' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { received, failNext, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('notifications that reach people', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-notify-'));
  let stack: RunningStack;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let hooks: Awaited<ReturnType<typeof startReceivers>>;
  let log: Awaited<ReturnType<typeof startTestLog>>;
  let admin: string;
  const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, admin, method, path, body);
  const json = (path: string) => (hooks.received[path] ?? []).map((r) => ({ ...r, json: JSON.parse(r.body) }));

  beforeAll(async () => {
    [smtp, hooks, log] = await Promise.all([startSmtp(), startReceivers(), startTestLog()]);
    writeFileSync(join(home, 'config.yaml'), [
      'notifications:',
      '  dashboardUrl: https://certops.example.com',
      '  channels:',
      `    - { name: team-a-mail, type: email, to: [team-a@example.com], from: certops@example.com, smtpHost: 127.0.0.1, smtpPort: ${smtp.port} }`,
      '    - { name: chat, type: slack, urlRef: env:TEST_SLACK_URL }',
      '    - { name: ops-teams, type: teams, urlRef: env:TEST_TEAMS_URL }',
      `    - { name: pager, type: pagerduty, routingKeyRef: env:TEST_PD_KEY, eventsUrl: ${hooks.url}/pagerduty }`,
      `    - { name: hook, type: webhook, url: ${hooks.url}/hook, secretRef: env:TEST_HOOK_SECRET }`,
      `    - { name: digest-hook, type: webhook, url: ${hooks.url}/digest, secretRef: env:TEST_HOOK_SECRET }`,
      `    - { name: tickets, type: jira, baseUrl: ${hooks.url}/jira, projectKey: OPS, user: certops@example.com, tokenRef: env:TEST_JIRA_TOKEN }`,
      `    - { name: incidents, type: servicenow, instanceUrl: ${hooks.url}, user: certops.integration, passwordRef: env:TEST_SNOW_PASSWORD }`,
      '  routes:',
      '    - { events: [certificate.expiring], owners: [team-a], channels: [team-a-mail, hook] }',
      '    - { events: [request.pending_approval], channels: [chat] }',
      '    - { events: [request.pending_approval], delivery: daily, channels: [digest-hook] }',
      '    - { events: [renewal.failed, deployment.failed], minSeverity: high, channels: [ops-teams, tickets, incidents] }',
      '    - { events: [ct.unauthorized_certificate], channels: [pager] }',
      '',
    ].join('\n'));
    stack = await startStack(home, {
      ...FAST,
      TEST_SLACK_URL: `${hooks.url}/slack`, TEST_TEAMS_URL: `${hooks.url}/teams`, TEST_PD_KEY: 'pd-routing-key-0123456789abcdef', TEST_HOOK_SECRET: 'hook-secret', TEST_JIRA_TOKEN: 'jira-api-token', TEST_SNOW_PASSWORD: 'snow-password',
    });
    admin = readFileSync(stack.tokenFile, 'utf8').trim();
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stack?.stop(), smtp?.close(), hooks?.close(), log?.close()]);
  });

  it('emails the owner once per threshold and signs the webhook, retrying a channel that failed without repeating the others', async () => {
    hooks.failNext['/hook'] = 1;
    // 90-day certificates 5 days before their end (a shorter life would scale the bands down).
    const lived = { notBefore: new Date(Date.now() - 85 * DAY_MS), notAfter: new Date(Date.now() + 5 * DAY_MS) };
    const soon = (await makeChain(['legacy.example.com'], lived)).leaf;
    const other = (await makeChain(['other.example.com'], lived)).leaf;
    const imported = await api('POST', '/imports', { pem: toPem(soon.der, 'CERTIFICATE'), owner: 'team-a', environment: 'prod' });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect((await api('POST', '/imports', { pem: toPem(other.der, 'CERTIFICATE'), owner: 'team-b' })).status).toBe(200);
    const id = imported.body.imported[0].certificateId ?? imported.body.imported[0].id;

    const [mail] = await eventually(async () => smtp.mails.length > 0 && smtp.mails, 'the expiry email', 30_000);
    expect(mail.subject).toMatch(/^\[certops\] legacy\.example\.com expires in [45] days$/);
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe('team-a@example.com');
    expect(mail.text).toContain('expires on');
    expect(mail.text).toContain('What to do: certops does not renew it: renew it where it was issued, or adopt it');
    expect(mail.text).toContain(`Open it in certops: https://certops.example.com/#/certificates/${id}`);
    expect(mail.text).toMatch(/Owner: team-a, environment: prod/);

    // The webhook answered 503 once: the event came back, the webhook got it, the email was not sent again.
    const [hook] = await eventually(async () => json('/hook').length > 0 && json('/hook'), 'the signed webhook', 30_000);
    const timestamp = String(hook.headers['x-certops-timestamp']);
    expect(hook.headers['x-certops-signature']).toBe(`sha256=${createHmac('sha256', 'hook-secret').update(`${timestamp}.${hook.body}`).digest('hex')}`);
    expect(hook.json).toMatchObject({ eventType: 'certificate.expiring', severity: 'high', owner: 'team-a', certificate: { id }, link: `https://certops.example.com/#/certificates/${id}` });
    // Sweeps keep running every second: still one email, one webhook, and nothing for team-b's certificate.
    await new Promise((r) => setTimeout(r, 3000));
    expect(smtp.mails).toHaveLength(1);
    expect(json('/hook')).toHaveLength(1);
  }, 60_000);

  it('tells the chat channel an approval waits, with the request and what to do', async () => {
    const asked = await api('POST', '/certificates', { commonName: 'pay.corp.internal', owner: 'team-a' });
    expect(asked.status).toBe(202);
    const [slack] = await eventually(async () => json('/slack').length > 0 && json('/slack'), 'the Slack message', 30_000);
    expect(slack.json.text).toBe('pay.corp.internal waits for an approver: https://certops.example.com/#/approvals');
    expect(slack.json.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'section', 'actions']);
    expect(slack.json.blocks[2].text.text).toContain(`certops approve ${asked.body.requestId}`);
    expect(slack.json.blocks[3].elements[0].url).toBe('https://certops.example.com/#/approvals');
    // The digest route keeps it for its channel's daily digest (the schedules run every second here): once, with the others held.
    const digest = await eventually(async () => json('/digest').find((d) => d.json.what.includes('pay.corp.internal waits for an approver')), 'the daily digest', 30_000);
    expect(digest.json).toMatchObject({ title: expect.stringMatching(/^\d+ notices? since the last digest$/), link: 'https://certops.example.com', severity: 'medium' });
    await new Promise((r) => setTimeout(r, 2500));
    expect(json('/digest').filter((d) => d.json.what.includes('pay.corp.internal'))).toHaveLength(1);
  }, 60_000);

  it('pages PagerDuty for a certificate seen in CT that nobody here issued', async () => {
    log.append(x509Leaf((await makeChain(['rogue.example.com'])).leaf.der, 1));
    // The names are watched before the log is: the schedules (every second here) may read the log's
    // entries as soon as it is added, and an entry read before its name was watched is not looked at again.
    expect((await api('PUT', '/ct/watchlist', { domains: ['.example.com'] })).status).toBe(200);
    expect((await api('POST', '/ct/logs', { url: log.url, key: log.key, start: 0 })).status).toBe(201);
    await api('POST', '/ct/poll', {});
    const [page] = await eventually(async () => json('/pagerduty').length > 0 && json('/pagerduty'), 'the PagerDuty event', 30_000);
    expect(page.json).toMatchObject({
      routing_key: 'pd-routing-key-0123456789abcdef', event_action: 'trigger', dedup_key: expect.stringMatching(/^certops:/),
      payload: { source: 'certops', severity: 'error', class: 'ct.unauthorized_certificate', summary: 'A certificate for rogue.example.com was issued outside certops' },
      links: [{ href: 'https://certops.example.com/#/ct', text: 'Open in certops' }],
    });
    expect(Date.parse(page.json.payload.timestamp)).not.toBeNaN();
  }, 60_000);

  it('posts a failed renewal to Teams as an Adaptive Card and opens a Jira issue and a ServiceNow incident, with the step and the way out', async () => {
    const dir = join(home, 'targets', 'nowhere');
    expect((await api('POST', '/targets', { name: 'nowhere', type: 'filesystem', directory: dir, endpoint: '127.0.0.1:9' })).status).toBe(201);
    const issued = await api('POST', '/certificates', { commonName: 'fails.example.com', owner: 'team-a' });
    expect((await api('POST', `/certificates/${issued.body.certificateId}/targets`, { targets: ['nowhere'] })).status).toBe(409);
    await eventually(async () => (await api('POST', `/certificates/${issued.body.certificateId}/renew`)).status === 202, 'the renewal to start', 30_000, 200);
    const cards = await eventually(async () => json('/teams').filter((t) => /^Renewing fails\.example\.com failed at/.test(t.json.attachments[0].content.body[0].text)).length > 0 && json('/teams'), 'the Teams card', 60_000);
    const card = cards.find((t) => /^Renewing/.test(t.json.attachments[0].content.body[0].text))!.json;
    expect(card.type).toBe('message');
    expect(card.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4', actions: [{ type: 'Action.OpenUrl', url: `https://certops.example.com/#/certificates/${issued.body.certificateId}` }] });
    expect(card.attachments[0].content.body[2].text).toContain(`certops renew ${issued.body.certificateId} --wait`);
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    // The attachment's failed deployment opened its own ticket first: the renewal's is the one labelled renewal-failed.
    const issue = await eventually(async () => json('/jira/rest/api/3/issue').find((i) => i.json.fields.labels.includes('renewal-failed')), 'the Jira issue', 30_000);
    expect(json('/jira/rest/api/3/issue').some((i) => i.json.fields.summary === '[certops] Deploying fails.example.com to nowhere failed')).toBe(true);
    expect(issue.headers.authorization).toBe(basic('certops@example.com', 'jira-api-token'));
    expect(issue.json.fields).toMatchObject({ project: { key: 'OPS' }, issuetype: { name: 'Task' }, summary: expect.stringMatching(/^\[certops\] Renewing fails\.example\.com failed at /), labels: ['certops', 'renewal-failed'], description: { type: 'doc', version: 1 } });
    expect(JSON.stringify(issue.json.fields.description)).toContain(`certops renew ${issued.body.certificateId} --wait`);
    const incident = await eventually(async () => json('/api/now/table/incident').find((i) => /^\[certops\] Renewing/.test(i.json.short_description)), 'the ServiceNow incident', 30_000);
    expect(incident.headers.authorization).toBe(basic('certops.integration', 'snow-password'));
    expect(incident.json).toMatchObject({ short_description: expect.stringMatching(/^\[certops\] Renewing fails\.example\.com/), urgency: '1', impact: '1', correlation_id: expect.stringMatching(/^certops:/), category: 'certops' });
  }, 90_000);

  it('refuses a configuration that holds a secret or names a channel that is not there, naming the field', async () => {
    const current = (await api('GET', '/config')).body.document;
    const withSecret = await api('PUT', '/config', { ...current, notifications: { channels: [{ name: 'x', type: 'slack', urlRef: 'https://hooks.slack.com/services/T0/B0/secret' }] } });
    expect(withSecret.status).toBe(400);
    expect(withSecret.body.error.field).toBe('notifications.channels.0.urlRef');
    const unknown = await api('PUT', '/config', { ...current, notifications: { channels: [], routes: [{ events: ['renewal.failed'], channels: ['nope'] }] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.field).toBe('notifications.routes.0.channels.0');
  });
});
