import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { cli } from './support/cli.ts';

const POLICY = (allowed: string, denied: string) => `
policy:
  rules:
    - allowedDomains: [${allowed}]
      deniedNames: [${denied}]
`;

/**
 * ops/21: a renewal is an issuance, judged by the policy in force when it runs. The policy changes
 * after two certificates were issued: one name is now denied, the other outside the allowed domains.
 */
describe('a renewal under the policy in force (ops/21)', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-renewal-approval-'));
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  const api = async (who: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const ids: Record<string, string> = {};

  /** Asks for a renewal and waits for its outcome event. */
  async function renew(certificateId: string): Promise<any> {
    const started = await api('admin', 'POST', `/certificates/${certificateId}/renew`);
    expect(started.status).toBe(202);
    return eventually(async () => siem().find((l) => ['renewal.succeeded', 'renewal.failed'].includes(l.event_type) && l.correlationId === started.body.executionName), 'the renewal outcome', 30_000, 100);
  }

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), POLICY('example.com', 'never.example.com'));
    stack = await startStack(home);
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    tokens.alice = (await api('admin', 'POST', '/tokens', { role: 'approver', name: 'alice' })).body.token;
    for (const name of ['legacy.example.com', 'gone.example.com']) {
      const issued = await api('admin', 'POST', '/certificates', { commonName: name });
      expect(issued.body.status).toBe('issued');
      ids[name] = issued.body.certificateId;
    }
    // The policy changes (a restart reads config.yaml): one name is denied, the other outside the allowed domains.
    await stack.stop();
    writeFileSync(join(home, 'config.yaml'), POLICY('example.org', 'gone.example.com'));
    stack = await startStack(home);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('says in the readiness report, before any renewal runs, that one renewal would be refused and the other wait for an approver', async () => {
    const report = (await api('admin', 'GET', '/reports/readiness')).body;
    const reasons = Object.fromEntries(report.certificates.map((c: { id: string; reasons: string[] }) => [c.id, c.reasons]));
    expect(reasons[ids['gone.example.com']]).toContain('policy-refuses');
    expect(reasons[ids['legacy.example.com']]).toContain('needs-approval');
  });

  it('fails the renewal of a name the policy now denies, naming the rule, and asks nobody', async () => {
    const outcome = await renew(ids['gone.example.com']);
    expect(outcome).toMatchObject({ event_type: 'renewal.failed', step: 'lock' });
    expect(outcome.cause).toMatch(/gone.example.com is a denied name/);
    expect((await api('admin', 'GET', `/certificates/${ids['gone.example.com']}`)).body).toMatchObject({ status: 'active' });
    expect((await api('admin', 'GET', `/certificates/${ids['gone.example.com']}`)).body.renewalRequestId).toBeUndefined();
  });

  it('sends a name that now needs an approval to approval, once, and renews it when an approver says yes', async () => {
    const legacy = ids['legacy.example.com'];
    const first = await renew(legacy);
    expect(first).toMatchObject({ event_type: 'renewal.failed', step: 'lock' });
    const requestId = /request (\S+) waits for an approver/.exec(first.cause)?.[1];
    expect(first.cause).toMatch(/legacy.example.com is outside the allowed domains/);
    const waiting = await api('alice', 'GET', `/requests/${requestId}`);
    expect(waiting.body).toMatchObject({ status: 'pending_approval', renews: legacy, commonName: 'legacy.example.com', requestedBy: 'admin' });
    // Listed with what it renews.
    expect((await cli(['requests', 'list', '--pending', '--endpoint', stack.url], { ...process.env, CERTOPS_TOKEN: tokens.alice })).stdout).toContain(`legacy.example.com (renews ${legacy})`);
    // Approvers are told, and the failure names the request to decide.
    expect(first).toMatchObject({ approvalRequestId: requestId });
    await eventually(async () => siem().find((l) => l.event_type === 'request.pending_approval' && l.requestId === requestId && l.renews === legacy), 'the approvers\' notice', 10_000, 100);
    // Asked again, the renewal finds the same request waiting.
    expect((await renew(legacy)).cause).toContain(`request ${requestId} waits`);
    // Four eyes: the one who asked cannot approve; another approver can, and the renewal runs.
    expect((await api('admin', 'POST', `/requests/${requestId}/approve`)).status).toBe(403);
    const approved = await api('alice', 'POST', `/requests/${requestId}/approve`, { comment: 'still in use' });
    expect(approved.body).toMatchObject({ status: 'approved' });
    const done = await eventually(async () => siem().find((l) => l.event_type === 'renewal.succeeded' && l.certificateId === legacy), 'the approved renewal', 30_000, 100);
    expect(siem().find((l) => l.event_type === 'renewal.started' && l.correlationId === done.correlationId)).toMatchObject({ trigger: 'approval', requestedBy: 'alice' });
    expect((await api('admin', 'GET', `/certificates/${legacy}`)).body).toMatchObject({ status: 'superseded', supersededBy: done.newCertificateId });
    expect((await api('admin', 'GET', `/requests/${requestId}`)).body).toMatchObject({ status: 'issued', certificateId: done.newCertificateId });
    // Nothing was issued from the request itself: one successor, made by the saga.
    expect(siem().filter((l) => l.event_type === 'certificate.issued' && l.requestId === requestId)).toEqual([]);
    // The successor was signed under that approval, which covers its own renewals: no approver is asked again.
    expect((await api('admin', 'GET', `/certificates/${done.newCertificateId}`)).body).toMatchObject({ requestId });
    expect(await renew(done.newCertificateId)).toMatchObject({ event_type: 'renewal.succeeded' });
  });
});
