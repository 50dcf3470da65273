import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { startNginxSite } from './support/nginx-site.ts';
import { makeChain } from './support/pki.ts';
import { servedCertificate } from './support/served-certificate.ts';
import { startWebhookReceiver } from './support/webhook-receiver.ts';

const SECRET = 'webhook-secret-for-tests';

/**
 * The renew-then-deploy saga against real targets (nginx reloaded from a filesystem target, an
 * HTTPS webhook receiver), with a failure injected at every step. After each failure every target
 * serves its previous valid certificate or the new verified one, no lock is left, and the events
 * say what happened.
 */
// Also with every function in execution environments of its own (see the walking skeleton).
describe.each([
  { mode: 'one process', isolation: {} as Record<string, string> },
  { mode: 'every function isolated', isolation: { CERTOPS_ISOLATE_FUNCTIONS: '1' } },
])('renewal saga: deploy, verify, roll back ($mode)', ({ isolation }) => {
  const home = mkdtempSync(join(tmpdir(), 'certops-saga-'));
  const webDir = join(home, 'targets', 'web');
  const faults = join(home, 'faults.json');
  let stack: RunningStack;
  let nginx: Awaited<ReturnType<typeof startNginxSite>>;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let token: string;
  let certId: string;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const served = async () => (await servedCertificate('127.0.0.1', nginx.port, 'saga.example.com')).fingerprintSha256;
  const fingerprintOf = async (id: string) => (await api('GET', `/certificates/${id}`)).body.fingerprintSha256 as string;
  const setFaults = (list: string[]) => writeFileSync(faults, JSON.stringify(list));

  /** Starts a renewal now and waits for its outcome event. */
  async function renewNow(): Promise<any> {
    const started = await eventually(async () => {
      const r = await api('POST', `/certificates/${certId}/renew`);
      return r.status === 202 && r.body;
    }, 'the renewal to start (no lock held)', 30_000, 200);
    return eventually(async () => siem().find((l) => ['renewal.succeeded', 'renewal.failed'].includes(l.event_type) && l.correlationId === started.executionName), 'the renewal outcome', 60_000, 200);
  }

  async function assertUnchanged(outcome: any, step: string, cause: RegExp) {
    expect(outcome).toMatchObject({ event_type: 'renewal.failed', step, certificateId: certId });
    expect(outcome.cause).toMatch(cause);
    const current = await fingerprintOf(certId);
    // Two reloads in quick succession can leave nginx's previous worker answering for a moment while it drains.
    await eventually(async () => (await served()) === current, 'nginx to serve the previous certificate', 5_000, 100);
    expect(hook.current().fingerprintSha256).toBe(current);
    expect((await api('GET', `/certificates/${certId}`)).body.status).toBe('active');
    if (step !== 'renew') {
      const successor = await eventually(async () => siem().find((l) => l.event_type === 'certificate.revoked' && l.correlationId === outcome.correlationId), 'the successor\'s revocation in the SIEM file', 10_000, 100);
      expect(successor).toMatchObject({ reason: 'superseded' });
      // The rolled-back successor names only the targets whose rollback had a problem (it may still be served there):
      // nothing lists it as deploying where it was put back or never reached.
      const shown = (await api('GET', `/certificates/${successor.certificateId}`)).body;
      const rolledBack = shown.history.filter((h: any) => h.attempt === outcome.correlationId && h.outcome === 'rolled_back');
      expect(rolledBack.length).toBeGreaterThan(0);
      expect(shown.status).toBe('revoked');
      for (const h of rolledBack) expect(shown.targets.includes(h.target), `${h.target}: ${h.detail}`).toBe(Boolean(h.unverified));
    }
  }

  beforeAll(async () => {
    const receiverCert = await makeChain(['127.0.0.1']);
    hook = await startWebhookReceiver(receiverCert.leaf.pem + receiverCert.intermediate.pem, await receiverCert.leaf.keyPem(), SECRET);
    nginx = await startNginxSite(webDir, 'saga.example.com');
    stack = await startStack(home, { ...isolation, CERTOPS_TEST_HOOK_SECRET: SECRET, CERTOPS_LOCAL_FAULTS_FILE: faults, CERTOPS_VERIFY_ATTEMPTS: '6', CERTOPS_VERIFY_DELAY_MS: '100', CERTOPS_SAGA_RETRY_MS: '0', CERTOPS_BUS_RETRY_MS: '50' });
    token = readFileSync(stack.tokenFile, 'utf8').trim();
    expect((await api('POST', '/targets', { name: 'nginx', type: 'filesystem', directory: webDir, reloadCommand: nginx.reloadCommand, endpoint: `127.0.0.1:${nginx.port}`, serverName: 'saga.example.com' })).status).toBe(201);
    expect((await api('POST', '/targets', { name: 'hook', type: 'webhook', url: hook.url, secretEnv: 'CERTOPS_TEST_HOOK_SECRET', caCertificatePem: receiverCert.root.pem })).status).toBe(201);
    const issued = await api('POST', '/certificates', { commonName: 'saga.example.com', targets: ['nginx', 'hook'] });
    certId = issued.body.certificateId;
    await eventually(async () => (await served()) === (await fingerprintOf(certId)) && hook.current()?.certificateId === certId, 'the first deployment to nginx and the webhook', 30_000);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([stack?.stop(), nginx?.close(), hook?.close()]);
    rmSync(faults, { force: true });
  });

  it('renews, deploys to every target, verifies nginx serves it, and commits', async () => {
    const outcome = await renewNow();
    expect(outcome).toMatchObject({ event_type: 'renewal.succeeded', targets: ['nginx', 'hook'] });
    const successor = outcome.newCertificateId;
    expect(await served()).toBe(await fingerprintOf(successor));
    expect(hook.current()).toMatchObject({ action: 'deploy', certificateId: successor });
    expect(hook.current().privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(hook.state.rejectedSignatures).toBe(0);
    expect((await api('GET', `/certificates/${certId}`)).body).toMatchObject({ status: 'superseded', supersededBy: successor });
    const view = (await api('GET', `/certificates/${successor}`)).body;
    expect(view.deployments.filter((d: any) => d.outcome === 'succeeded').map((d: any) => d.target).sort()).toEqual(['hook', 'nginx']);
    certId = successor;
  });

  it('a CA failure leaves every target as it was', async () => {
    setFaults(['renewalStep:renew']);
    try {
      await assertUnchanged(await renewNow(), 'renew', /crashed during renew/);
    } finally {
      setFaults([]);
    }
  });

  it('one target failing rolls back the others to the previous certificate, verified', async () => {
    hook.state.failWith = 503;
    try {
      const outcome = await renewNow();
      hook.state.failWith = 0;
      expect(outcome.step).toBe('deploy');
      expect(outcome.cause).toMatch(/hook: .*answered 503/);
      const before = await fingerprintOf(certId);
      expect(await served()).toBe(before);
      const rolled = siem().filter((l) => l.event_type === 'deployment.rolled_back' && l.correlationId === outcome.correlationId);
      expect(rolled.map((r) => r.target)).toContain('nginx');
      await assertUnchanged(outcome, 'deploy', /503/);
    } finally {
      hook.state.failWith = 0;
    }
  });

  it('a verification that never sees the new certificate rolls back', async () => {
    await api('POST', '/targets', { name: 'nginx', type: 'filesystem', directory: webDir, reloadCommand: 'true', endpoint: `127.0.0.1:${nginx.port}`, serverName: 'saga.example.com' });
    try {
      await assertUnchanged(await renewNow(), 'verify', /serves .*, not /);
      expect(readFileSync(join(webDir, 'cert.pem'), 'utf8')).toBe((await api('GET', `/certificates/${certId}`)).body.certificatePem);
    } finally {
      await api('POST', '/targets', { name: 'nginx', type: 'filesystem', directory: webDir, reloadCommand: nginx.reloadCommand, endpoint: `127.0.0.1:${nginx.port}`, serverName: 'saga.example.com' });
    }
  });

  it('a failing reload command rolls back the files', async () => {
    await api('POST', '/targets', { name: 'nginx', type: 'filesystem', directory: webDir, reloadCommand: 'echo "nginx: [emerg] bad config" >&2; exit 1', endpoint: `127.0.0.1:${nginx.port}`, serverName: 'saga.example.com' });
    try {
      await assertUnchanged(await renewNow(), 'deploy', /reload command failed: nginx: \[emerg\] bad config/);
      expect(readFileSync(join(webDir, 'cert.pem'), 'utf8')).toBe((await api('GET', `/certificates/${certId}`)).body.certificatePem);
    } finally {
      await api('POST', '/targets', { name: 'nginx', type: 'filesystem', directory: webDir, reloadCommand: nginx.reloadCommand, endpoint: `127.0.0.1:${nginx.port}`, serverName: 'saga.example.com' });
    }
  });

  it('when undoing the renewal fails too, it is given up: the lock is released and renewal.failed names the successor left', async () => {
    setFaults(['deploymentStep:verify', 'renewalStep:abort']);
    let outcome;
    try {
      outcome = await renewNow();
    } finally {
      setFaults([]);
    }
    expect(outcome).toMatchObject({ event_type: 'renewal.failed', certificateId: certId, step: 'deploy' });
    expect(outcome.cause).toMatch(/undoing it failed too \(.*crashed during abort.*\): successor [0-9a-f]{32} was not revoked/);
    expect((await api('GET', `/certificates/${certId}`)).body.status).toBe('active');
    // The lock is free: the next renewal (below) starts at once.
  });

  it('a crash between deploying and verifying rolls back what was deployed', async () => {
    setFaults(['deploymentStep:verify']);
    try {
      await assertUnchanged(await renewNow(), 'deploy', /crashed during verify/);
    } finally {
      setFaults([]);
    }
    // And after all that, a renewal still goes through.
    const outcome = await renewNow();
    expect(outcome.event_type).toBe('renewal.succeeded');
    expect(await served()).toBe(await fingerprintOf(outcome.newCertificateId));
  });
});
