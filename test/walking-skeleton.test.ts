import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { servedCertificate } from './support/served-certificate.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';
import { startTestLog, x509Leaf } from './support/ct-test-log.ts';
import { ROOT, eventually, openssl, startStack, waitForLine, type RunningStack } from './support/processes.ts';
import { cli } from './support/cli.ts';

/**
 * The walking skeleton: the local stack as a user runs it, driven over HTTP and the bus, every
 * step real (dynalite on disk, the built-in CA, a TLS server reading a filesystem target, a CT log).
 */
// Also with every function in execution environments of its own (worker processes recycled after a
// few invocations), sharing only the table, bus and state machine runner: no state lives between invocations.
describe.each([
  { mode: 'one process', isolation: {} as Record<string, string> },
  { mode: 'every function isolated', isolation: { CERTOPS_ISOLATE_FUNCTIONS: '1' } },
])('walking skeleton ($mode)', ({ isolation }) => {
  const home = mkdtempSync(join(tmpdir(), 'certops-skeleton-'));
  let stack: RunningStack;
  let token: string;
  let tls: ChildProcess;
  let tlsPort: number;
  const webDir = join(home, 'targets', 'web-01');

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const siemLines = () => {
    const file = join(home, 'siem', 'events.ndjson');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
  };
  const rootPem = () => readFileSync(join(home, 'ca', 'root.pem'), 'utf8');
  const verifyChain = (leafPem: string, chainPem: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-verify-'));
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    writeFileSync(join(dir, 'chain.pem'), chainPem);
    writeFileSync(join(dir, 'root.pem'), rootPem());
    return openssl(['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), '-purpose', 'sslserver', join(dir, 'leaf.pem')]);
  };

  beforeAll(async () => {
    stack = await startStack(home, {
      ...isolation,
      CERTOPS_SCHEDULE_INTERVAL_MS: '1500',
      CERTOPS_RENEWAL_WINDOW_DAYS: '2',
      // Renew as soon as the window opens, whatever part of the lifetime has passed: the test cannot wait days.
      CERTOPS_RENEWAL_AT_LIFETIME: '0',
      CERTOPS_VERIFY_DELAY_MS: '100',
      CERTOPS_VERIFY_ATTEMPTS: '3',
      CERTOPS_SAGA_RETRY_MS: '0',
      CERTOPS_BUS_RETRY_MS: '50',
    });
    token = readFileSync(stack.tokenFile, 'utf8').trim();
    // The web server starts with a throwaway self-signed certificate, as a fresh host would.
    mkdirSync(webDir, { recursive: true });
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=bootstrap', '-days', '1',
      '-keyout', join(webDir, 'privkey.pem'), '-out', join(webDir, 'cert.pem')]);
    tls = spawn(process.execPath, [join(ROOT, 'test/support/tls-file-server.mjs'), webDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    tlsPort = Number((await waitForLine(tls, /listening (\d+)\n/))[1]);
  });

  afterAll(async () => {
    tls?.kill();
    expect(await stack?.stop()).toBe(0);
  });

  it('serves /health without a token and refuses the API without one', async () => {
    expect(await (await fetch(`${stack.url}/health`)).json()).toEqual({ status: 'ok' });
    const res = await fetch(`${stack.url}/certificates`);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('unauthorized');
  });

  it('issues from a CSR: the certificate reaches the inventory and its chain verifies with openssl', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-csr-'));
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=csr.example.com',
      '-addext', 'subjectAltName=DNS:csr.example.com', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'req.pem')]);
    const answer = await api('POST', '/certificates', { commonName: 'csr.example.com', csr: readFileSync(join(dir, 'req.pem'), 'utf8'), environment: 'dev', owner: 'team-a' });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ status: 'issued', reasons: [] });
    expect(answer.body.privateKeyPem).toBeUndefined();
    const cert = await eventually(async () => {
      const r = await api('GET', `/certificates/${answer.body.certificateId}`);
      return r.status === 200 && r.body;
    }, 'the issued certificate in the inventory');
    expect(cert).toMatchObject({ status: 'active', source: 'issued', commonName: 'csr.example.com', environment: 'dev', owner: 'team-a', subjectAlternativeNames: ['csr.example.com'] });
    expect(verifyChain(cert.certificatePem, cert.chainPem)).toContain('OK');
    // The CSR's key is the certificate's key.
    const certKey = openssl(['x509', '-noout', '-pubkey'], cert.certificatePem);
    expect(openssl(['pkey', '-pubout', '-in', join(dir, 'key.pem')])).toBe(certKey);
    // GET /ca/chain is the trust-store chain, and verifies the leaf too.
    const chain = await (await fetch(`${stack.url}/ca/chain`)).text();
    expect(certificateBlocks(chain, 'chain')).toHaveLength(2);
    expect(verifyChain(cert.certificatePem, chain)).toContain('OK');
    const issued = await eventually(async () => siemLines().find((l) => l.event_type === 'certificate.issued' && l.certificateId === cert.id), 'certificate.issued in the SIEM file');
    expect(issued).toMatchObject({ certificate_subject: 'CN=csr.example.com', certificate_serial: cert.serialNumber, issuer: cert.issuer, expiration_date: cert.notAfter });
  });

  it('issues with a generated key, delivered once, that matches the certificate', async () => {
    const answer = await api('POST', '/certificates', { commonName: 'gen.example.com', subjectAlternativeNames: ['www.gen.example.com'], keyAlgorithm: 'EC_P384', returnPrivateKey: true });
    expect(answer.status).toBe(201);
    expect(answer.body.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const cert = await eventually(async () => (await api('GET', `/certificates/${answer.body.certificateId}`)).body?.certificatePem && (await api('GET', `/certificates/${answer.body.certificateId}`)).body, 'the certificate');
    expect(cert.keyAlgorithm).toBe('EC_P384');
    expect(cert.subjectAlternativeNames).toEqual(['gen.example.com', 'www.gen.example.com']);
    expect(openssl(['pkey', '-pubout'], answer.body.privateKeyPem)).toBe(openssl(['x509', '-noout', '-pubkey'], cert.certificatePem));
    expect(JSON.stringify(cert)).not.toContain('PRIVATE KEY');
    expect(verifyChain(cert.certificatePem, cert.chainPem)).toContain('OK');
  });

  it('issues for a certificate.requested event another system puts on the bus, as the principal its source is bound to', async () => {
    const provisioner = await api('POST', '/tokens', { name: 'provisioner', role: 'requester', eventSources: ['com.example.provisioner'] });
    expect(provisioner.status).toBe(201);
    const res = await fetch(stack.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${provisioner.body.token}`, 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Entries: [{ EventBusName: 'certops-local', Source: 'com.example.provisioner', DetailType: 'certificate.requested', Detail: JSON.stringify({ commonName: 'bus.example.org', environment: 'staging' }) }] }),
    });
    expect(await res.json()).toMatchObject({ FailedEntryCount: 0 });
    const cert = await eventually(async () => ((await api('GET', '/certificates?limit=50')).body.items as any[]).find((c) => c.commonName === 'bus.example.org'), 'the certificate requested over the bus');
    expect(cert).toMatchObject({ status: 'active', environment: 'staging' });
    expect(verifyChain(cert.certificatePem, cert.chainPem)).toContain('OK');
    // The inventory may hear of the certificate before the request is marked issued.
    const request = await eventually(async () => {
      const r = await api('GET', `/requests/${cert.requestId}`);
      return r.body.status === 'issued' && r.body;
    }, 'the request marked issued');
    expect(request).toMatchObject({ requestedBy: 'provisioner', status: 'issued', certificateId: cert.id });
    // The AWS SDK signing with credentials of its own is not the suite: refused before any entry is read.
    const events = new EventBridgeClient({ endpoint: stack.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
    await expect(events.send(new PutEventsCommand({ Entries: [{ Source: 'com.example.provisioner', DetailType: 'certificate.requested', Detail: '{"commonName":"sdk.example.org"}' }] })))
      .rejects.toMatchObject({ name: 'UnrecognizedClientException' });
  });

  it('renews a certificate in its window: sweep, saga, deploy to a filesystem target, TLS verification, renewal.succeeded', async () => {
    const target = await api('POST', '/targets', { name: 'web-01', type: 'filesystem', directory: webDir, endpoint: `127.0.0.1:${tlsPort}`, reloadCommand: `kill -HUP ${tls.pid}` });
    expect(target.status).toBe(201);
    // Two days of validity with a two-day window: the window opens as soon as it is issued.
    const answer = await api('POST', '/certificates', { commonName: 'web.example.com', validityDays: 2, targets: ['web-01'] });
    expect(answer.status).toBe(201);
    const original = answer.body.certificateId as string;
    const succeeded = await eventually(async () => siemLines().find((l) => l.event_type === 'renewal.succeeded' && l.certificateId === original), 'renewal.succeeded', 45_000).catch((err: Error) => {
      // What the renewals and deployments said, and what the stack logged, name why none succeeded.
      const said = siemLines().filter((l) => /^(renewal|deployment)\./.test(l.event_type)).map((l) => `${l.event_type} ${l.certificateId} ${l.step ?? ''} ${l.cause ?? l.reason ?? ''}`);
      throw new Error(`${err.message}\n${said.join('\n')}\n${stack.output().slice(-4000)}`);
    });
    const successorId = succeeded.newCertificateId as string;
    const successor = (await api('GET', `/certificates/${successorId}`)).body;
    // Active, unless the sweep (its window is open at once) has renewed it in turn since.
    expect(successor).toMatchObject({ renewalOf: original, subjectAlternativeNames: ['web.example.com'], targets: ['web-01'] });
    if (successor.status !== 'active') expect(successor).toMatchObject({ status: 'superseded', supersededBy: expect.any(String) });
    const old = (await api('GET', `/certificates/${original}`)).body;
    expect(old).toMatchObject({ status: 'superseded', supersededBy: successorId });
    // `show` says the old certificate's targets are where it was, until its successor took over.
    expect((await cli(['show', original, '--endpoint', stack.url], { CERTOPS_TOKEN: token })).stdout).toMatch(new RegExp(`^ {2}targets: +web-01 \\(until superseded by ${successorId}\\)$`, 'm'));
    expect(old.history.map((h: any) => `${h.kind}:${h.outcome}`)).toEqual(expect.arrayContaining(['renewal:started', 'renewal:succeeded', 'deployment:succeeded']));
    expect(successor.deployments).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'web-01', outcome: 'succeeded' })]));
    // A new key, and the web server presents the successor (or, if the sweep has run again since, a renewal of it).
    expect(openssl(['x509', '-noout', '-pubkey'], successor.certificatePem)).not.toBe(openssl(['x509', '-noout', '-pubkey'], old.certificatePem));
    const served = await servedCertificate('127.0.0.1', tlsPort, 'web.example.com');
    let lineage: any = (await api('GET', `/certificates/${served.fingerprintSha256.replaceAll(':', '').toLowerCase().slice(0, 32)}`)).body;
    expect(lineage.fingerprintSha256).toBe(served.fingerprintSha256);
    for (let i = 0; i < 10 && lineage.id !== successorId && lineage.renewalOf; i++) lineage = (await api('GET', `/certificates/${lineage.renewalOf}`)).body;
    expect(lineage.id).toBe(successorId);
    const kinds = siemLines().filter((l) => l.correlationId === succeeded.correlationId).map((l) => l.event_type);
    expect(kinds).toEqual(expect.arrayContaining(['renewal.started', 'certificate.issued', 'deployment.succeeded', 'renewal.succeeded']));
    const deployed = siemLines().find((l) => l.event_type === 'deployment.succeeded' && l.correlationId === succeeded.correlationId);
    expect(deployed).toMatchObject({ deployment_status: 'deployed', target_systems: ['web-01'] });
  });

  it('rolls back when the new certificate cannot be verified: previous files restored, successor revoked, lock released', async () => {
    const dir = join(home, 'targets', 'web-02');
    // Nothing listens on this endpoint, so every verification fails.
    const target = await api('POST', '/targets', { name: 'web-02', type: 'filesystem', directory: dir, endpoint: '127.0.0.1:9' });
    expect(target.status).toBe(201);
    const answer = await api('POST', '/certificates', { commonName: 'rollback.example.com', targets: ['web-02'] });
    const original = answer.body.certificateId as string;
    const originalPem = await eventually(async () => existsSync(join(dir, 'cert.pem')) && readFileSync(join(dir, 'cert.pem'), 'utf8'), 'the first deployment to web-02');
    expect(originalPem).toBe((await api('GET', `/certificates/${original}`)).body.certificatePem);
    await eventually(async () => siemLines().find((l) => l.event_type === 'deployment.failed' && l.certificateId === original), 'the first deployment to fail verification');
    // While that deployment is retried it holds the certificate's lock, and a renewal is refused.
    const started = await eventually(async () => {
      const r = await api('POST', `/certificates/${original}/renew`);
      if (r.status !== 409) return r;
      expect(r.body.error.message).toMatch(/under way/);
    }, 'the lock to be released', 30_000, 200);
    expect(started.status).toBe(202);
    const failed = await eventually(async () => siemLines().find((l) => l.event_type === 'renewal.failed' && l.correlationId === started.body.executionName), 'renewal.failed', 45_000);
    expect(failed).toMatchObject({ step: 'verify', certificateId: original, deployment_status: 'failed' });
    expect(failed.cause).toMatch(/web-02/);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(originalPem);
    const rolledBack = siemLines().find((l) => l.event_type === 'deployment.rolled_back' && l.correlationId === started.body.executionName);
    expect(rolledBack).toMatchObject({ target: 'web-02', restoredCertificateId: original });
    const successor = (await api('GET', `/certificates/${rolledBack.certificateId}`)).body;
    expect(successor).toMatchObject({ status: 'revoked', renewalOf: original });
    const old = (await api('GET', `/certificates/${original}`)).body;
    expect(old.status).toBe('active');
    expect(old.history.find((h: any) => h.kind === 'renewal' && h.outcome === 'failed').detail).toMatch(/^verify: /);
    // The lock is free again: another renewal can start and gets as far as verification again.
    const again = await api('POST', `/certificates/${original}/renew`);
    expect(again.status).toBe(202);
    await eventually(async () => siemLines().find((l) => l.event_type === 'renewal.failed' && l.correlationId === again.body.executionName), 'the second attempt to fail at verify too', 45_000);
  });

  it('ct-monitor polls an RFC 6962 log, verifies it, and reports certificates on watched domains nobody here issued', async () => {
    const log = await startTestLog(3);
    try {
      const mk = (cn: string) => {
        const pem = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-days', '30']);
        return certificateBlocks(pem, 'cert')[0];
      };
      const entries = ['decoy.example.net', 'shop.watched.test', 'watched.test.evil.example', 'other.test', 'api.shop.watched.test'].map(mk);
      entries.forEach((der, i) => log.append(x509Leaf(der, Date.now() + i)));
      expect((await api('PUT', '/ct/watchlist', { domains: ['.watched.test'] })).status).toBe(200);
      expect((await api('POST', '/ct/logs', { url: log.url, key: log.key, start: 0 })).status).toBe(201);
      const observed = await eventually(async () => {
        const found = siemLines().filter((l) => l.event_type === 'ct.unauthorized_certificate' && l.logUrl === log.url);
        return found.length >= 2 && found;
      }, 'two ct.unauthorized_certificate events');
      expect(observed.map((o) => o.index).sort()).toEqual([1, 4]);
      expect(observed.find((o) => o.index === 1)).toMatchObject({ names: ['shop.watched.test'], entryType: 'x509', severity: 'high' });
      // The log's batch limit (3) was honoured with more calls, not more entries per call.
      expect(log.requests.filter((r) => r.startsWith('/ct/v1/get-entries')).length).toBeGreaterThanOrEqual(2);
      const state = (await api('GET', '/ct/logs')).body.items.find((l: any) => l.logUrl === log.url);
      expect(state).toMatchObject({ position: 5, treeSize: 5 });
    } finally {
      await log.close();
    }
  });

  it('exports every event once in the seed format, without key material', () => {
    const lines = siemLines();
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['timestamp', 'event_type', 'certificate_subject', 'certificate_serial', 'issuer', 'expiration_date', 'deployment_status', 'target_systems', 'eventId']));
    }
    const ids = lines.map((l) => l.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8')).not.toContain('PRIVATE KEY');
  });
});
