import { describe, expect, it } from 'vitest';
import { channelsFor, digestOf, noticeOf } from '../../services/notifications/notice.ts';
import { parseNotifications, type Notice } from '../../shared/notification-config.ts';

const notice = (over: Partial<Notice> = {}): Notice => ({
  eventId: 'e1', eventType: 'certificate.expiring', severity: 'medium', title: 't', what: 'w', action: 'a', link: 'https://c/#/x', occurredAt: '2026-12-01T00:00:00.000Z', owner: 'team-a', environment: 'prod', ...over,
});

describe('which channels a notice goes to', () => {
  const { routes } = parseNotifications({
    channels: ['mail', 'pager', 'chat', 'digest'].map((name) => ({ name, type: 'webhook', url: `https://h/${name}`, secretRef: 'env:K' })),
    routes: [
      { events: ['certificate.expiring'], owners: ['team-a'], channels: ['mail'] },
      { events: ['certificate.expiring', 'renewal.failed'], minSeverity: 'high', environments: ['prod'], channels: ['pager', 'mail'] },
      { channels: ['chat'], delivery: 'daily' },
      { channels: ['digest', 'mail'], delivery: 'daily' },
    ],
  }, (f) => f);

  it('chooses by event, least severity, owner and environment; a channel told at once is not also in its digest', () => {
    expect(channelsFor(notice(), routes)).toEqual({ now: ['mail'], daily: ['chat', 'digest'] });
    expect(channelsFor(notice({ severity: 'high' }), routes)).toEqual({ now: ['mail', 'pager'], daily: ['chat', 'digest'] });
    expect(channelsFor(notice({ severity: 'high', environment: 'dev', owner: 'team-b' }), routes)).toEqual({ now: [], daily: ['chat', 'digest', 'mail'] });
    expect(channelsFor(notice({ eventType: 'ct.log_misbehaviour', owner: undefined, environment: undefined }), routes)).toEqual({ now: [], daily: ['chat', 'digest', 'mail'] });
  });

  it('tells of a SIEM sink that keeps refusing events: which sink, how many, why, and how to send them again', () => {
    const failing = noticeOf('siem.sink_failing', { eventId: 'siem-sink-failing:splunk:2026-12-01T08', occurredAt: '2026-12-01T08:10:00.000Z', sink: 'splunk', sinkType: 'http', deadLettered: 40, attempts: 8, lastError: 'HTTP 503', firstFailedAt: '2026-12-01T07:30:00.000Z' }, {}, 'https://certops.example');
    expect(failing).toMatchObject({ eventType: 'siem.sink_failing', severity: 'high', link: 'https://certops.example/#/delivery', title: 'SIEM sink splunk keeps refusing events' });
    expect(failing.what).toContain('40 events 8 times (last: HTTP 503)');
    expect(failing.action).toContain('certops siem replay --sink splunk');
    expect(channelsFor(failing, routes)).toEqual({ now: [], daily: ['chat', 'digest', 'mail'] });
  });

  it('tells of a renewal that waits for an approver what to decide, and of one that failed at its lock that nothing changed', () => {
    const base = { eventId: 'e', occurredAt: '2026-12-01T08:10:00.000Z', certificateId: 'c1', subject: 'CN=db.example.com', notAfter: '2026-12-20T00:00:00.000Z', step: 'lock' };
    const waiting = noticeOf('renewal.failed', { ...base, cause: 'lock: renewing c1 needs an approval under the policy in force: request r1 waits for an approver', approvalRequestId: 'r1' }, {}, 'https://c');
    expect(waiting).toMatchObject({ severity: 'medium', link: 'https://c/#/approvals', title: expect.stringMatching(/waits for an approver$/) });
    expect(waiting.action).toContain('certops approve r1');
    expect(waiting.what).toContain('Nothing was changed');
    const refused = noticeOf('renewal.failed', { ...base, cause: 'lock: the policy in force does not allow renewing c1' }, {}, 'https://c');
    expect(refused.what).toContain('Nothing was changed');
    expect(refused.what).not.toContain('put back');
    const asked = noticeOf('request.pending_approval', { eventId: 'p', occurredAt: base.occurredAt, requestId: 'r1', commonName: 'db.example.com', reasons: ['db.example.com is outside the allowed domains'], requestedBy: 'admin', renews: 'c1' }, {}, 'https://c');
    expect(asked.what).toMatch(/^The renewal of db\.example\.com \(certificate c1, asked for by admin\) needs an approver's yes/);
    expect(asked.action).toContain('certops approve r1');
  });

  it('says who renews an expiring certificate: certops, the ACME client that ordered it, or nobody here; and hours when less than a day is left', () => {
    const cert = (over: Record<string, unknown>) => ({ id: 'c1', subject: 'CN=db.example.com', commonName: 'db.example.com', subjectAlternativeNames: ['db.example.com'], notAfter: '2026-12-02T06:00:00.000Z', status: 'active', source: 'issued', issuerBackend: 'local', targets: [], ...over }) as never;
    const detail = { eventId: 'expiring:c1:1', occurredAt: '2026-12-01T18:00:00.000Z', certificateId: 'c1', notAfter: '2026-12-02T06:00:00.000Z', daysToExpiry: 0.5, threshold: 1 };
    const managed = noticeOf('certificate.expiring', detail, { cert: cert({ keyRef: 'k' }) }, 'https://c');
    expect(managed).toMatchObject({ severity: 'critical', title: 'db.example.com expires in 12 hours' });
    expect(managed.action).toContain('certops renew c1 --wait');
    const certbot = noticeOf('certificate.expiring', detail, { cert: cert({ requestedBy: 'acme:acct-1' }) }, 'https://c');
    expect(certbot.action).toMatch(/^The ACME client that ordered it \(acme:acct-1\) holds its key and renews it/);
    expect(certbot.action).not.toContain('certops renew');
    const found = noticeOf('certificate.expiring', { ...detail, daysToExpiry: 9.6, threshold: 14 }, { cert: cert({ source: 'scan', status: 'discovered', issuerBackend: undefined }) }, 'https://c');
    expect(found).toMatchObject({ severity: 'medium', title: 'db.example.com expires in 9 days' });
    expect(found.action).toMatch(/^certops does not renew it/);
  });

  it('makes one digest of several notices, the most severe first, each with its link', () => {
    const digest = digestOf([notice({ eventId: 'a', title: 'low one', severity: 'low' }), notice({ eventId: 'b', title: 'urgent one', severity: 'critical', link: 'https://c/#/b' })], 'https://c', '2026-12-02T00:00:00.000Z');
    expect(digest).toMatchObject({ title: '2 notices since the last digest', severity: 'critical', link: 'https://c' });
    expect(digest.what.split('\n')).toEqual(['- [critical] urgent one: https://c/#/b', '- [low] low one: https://c/#/x']);
  });

  it('refuses channels that would send the runtime\'s own credentials, or send anywhere but https', () => {
    const parse = (channel: Record<string, unknown>) => () => parseNotifications({ channels: [channel] }, (f) => f);
    expect(parse({ name: 'j', type: 'jira', baseUrl: 'https://org.atlassian.net', projectKey: 'OPS', user: 'u', tokenRef: 'env:AWS_SESSION_TOKEN' })).toThrow(/notifications\.channels\.0\.tokenRef may not name the runtime's own variables/);
    expect(parse({ name: 's', type: 'slack', urlRef: 'PATH' })).toThrow(/may not name the runtime's own variables/);
    expect(parse({ name: 'w', type: 'webhook', url: 'http://hooks.example.com/x', secretRef: 'env:K' })).toThrow(/notifications\.channels\.0\.url must be the receiver: an https:\/\/ URL \(http:\/\/ only to this machine\)/);
    expect(parse({ name: 'w', type: 'webhook', url: 'http://127.0.0.1:9099/x', secretRef: 'env:K' })).not.toThrow();
  });

  it('refuses a route with a delivery it does not know, naming the field', () => {
    expect(() => parseNotifications({ channels: [{ name: 'm', type: 'webhook', url: 'https://h', secretRef: 'env:K' }], routes: [{ channels: ['m'], delivery: 'weekly' }] }, (f) => f)).toThrow(/notifications\.routes\.0\.delivery must be immediate or daily/);
  });
});
