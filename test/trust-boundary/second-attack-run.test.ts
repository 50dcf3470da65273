import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTlv, stringValue } from '../../shared/x509/der.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import { pemBlocks } from '../../shared/x509/pem.ts';
import { normaliseName } from '../../shared/names.ts';
import { evaluatePolicy, parsePolicy } from '../../shared/policy.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { ROOT, eventually, startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';

const CONFIG = `
inventory:
  ownership:
    - domain: payments.example.com
      environment: prod
      owner: team-payments
  scanLimits:
    allowedRanges: [127.0.0.0/8]
    allowedDomains: [localhost]
policy:
  rules:
    - environment: prod
      allowedDomains: [payments.example.com]
      ownerRequired: true
    - allowedDomains: [example.com, test]
      allowIpAddresses: private
      deniedNames: ['fd00::1']
`;

/** What the second attack run found, each written as the attack. */
describe('the second attack run', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-attack2-'));
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  const call = (who: string, method: string, path: string, body?: unknown) => apiCall(stack.url, tokens[who], method, path, body);
  const audit = async (type: string) => (await call('admin', 'GET', `/events?type=${type}&limit=100`)).body.items as { detail: Record<string, unknown> }[];
  /** How long /health takes to answer while `work` runs: the event loop is not blocked by it. */
  const healthDuring = async (work: Promise<unknown>) => {
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await fetch(`${stack.url}/health`);
    const waited = Date.now() - started;
    await work;
    return waited;
  };

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), CONFIG);
    stack = await startStack(home);
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const [name, role] of [['alice', 'requester'], ['bob', 'approver']] as const) tokens[name] = (await call('admin', 'POST', '/tokens', { name, role })).body.token;
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('refuses a state folder reached through a link another user could repoint, or under a folder others may write to', async () => {
    if (process.getuid?.() !== 0) return;
    const real = mkdtempSync(join(tmpdir(), 'certops-real-'));
    const link = join(tmpdir(), `certops-link-${Date.now()}`);
    symlinkSync(real, link);
    lchownSync(link, 65534, 65534);
    await expect(startStack(link)).rejects.toThrow(/link owned by user 65534/);
    const open = mkdtempSync(join(tmpdir(), 'certops-open-'));
    chmodSync(open, 0o777);
    await expect(startStack(join(open, 'home'))).rejects.toThrow(/lets others replace what is in it/);
  });

  it('does not run compiled code from a cache folder another user made', () => {
    const temp = mkdtempSync(join(tmpdir(), 'certops-tmp-'));
    const planted = join(temp, `tsx-${process.geteuid?.()}`);
    mkdirSync(planted, { mode: 0o777 });
    chmodSync(planted, 0o777);
    if (process.getuid?.() === 0) chownSync(planted, 65534, 65534);
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/certops.js'), 'verify', '--help'], { env: { ...process.env, TMPDIR: temp }, encoding: 'utf8' });
    expect(run.status).not.toBeNull();
    expect(readdirSync(planted)).toEqual([]);
    // Commands run from the CLI's bundle in the package's own folder, which only its owner may write to.
    const builds = join(ROOT, '.build', 'cli');
    expect(statSync(builds).uid).toBe(process.geteuid?.());
    expect(statSync(builds).mode & 0o022).toBe(0);
    // A build folder others may write to is not run from: the CLI compiles its TypeScript instead, and still answers.
    chmodSync(builds, 0o777);
    try {
      const fallback = spawnSync(process.execPath, [join(ROOT, 'bin/certops.js'), 'verify', '--help'], { env: { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), 'certops-tmp-')) }, encoding: 'utf8' });
      expect(fallback.stdout).toMatch(/^Usage: certops verify/);
    } finally {
      chmodSync(builds, 0o755);
    }
  });

  it('answers an oversized scan request at once, without freezing the server', async () => {
    const targets = Array.from({ length: 300 }, (_, i) => `10.${i % 256}.0.0/16`);
    let status = 0;
    const work = call('alice', 'POST', '/scans', { targets, ports: [443] }).then((r) => (status = r.status));
    expect(await healthDuring(work)).toBeLessThan(1000);
    expect([400, 403, 429]).toContain(status);
    const admin = await call('admin', 'POST', '/scans', { targets, ports: [443] });
    expect(admin.status).toBe(400);
    expect((await call('alice', 'POST', '/scans', { targets: ['127.0.0.1'], ports: Array.from({ length: 200 }, () => 443) })).status).toBe(400);
  });

  it('reads PEM in one pass: thousands of BEGIN lines without END take no time', async () => {
    const started = Date.now();
    expect(pemBlocks('-----BEGIN A-----'.repeat(300_000))).toEqual([]);
    expect(pemBlocks('-----BEGIN CERTIFICATE-----\n'.repeat(100_000) + '-----END CERTIFICATE-----')).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(2000);
    const work = call('alice', 'POST', '/imports', { pem: '-----BEGIN A-----'.repeat(200_000) });
    expect(await healthDuring(work)).toBeLessThan(1000);
  });

  it('puts every admin act in the audit trail with who did it: adoption, attaching targets, the CT watchlist and logs, a manual renewal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-adopt-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=adopt.example.com', '-addext', 'subjectAltName=DNS:adopt.example.com', '-days', '30'], { stdio: 'ignore' });
    const imported = await call('admin', 'POST', '/imports', { pem: readFileSync(join(dir, 'c.pem'), 'utf8') });
    expect((await call('admin', 'POST', `/certificates/${imported.body.imported[0].id}/adopt`, { issuer: 'local' })).status).toBe(200);
    await call('admin', 'POST', '/targets', { name: 'web', type: 'filesystem', directory: join(home, 'targets', 'web') });
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'attach.example.com' });
    await call('admin', 'POST', `/certificates/${issued.body.certificateId}/targets`, { targets: ['web'] });
    await call('admin', 'PUT', '/ct/watchlist', { domains: ['.example.com'] });
    const renewed = await call('admin', 'POST', `/certificates/${issued.body.certificateId}/renew`);
    expect(renewed.status).toBe(202);
    await eventually(async () => (await audit('certificate.adopted')).some((r) => r.detail.adoptedBy === 'admin'), 'certificate.adopted');
    await eventually(async () => (await audit('certificate.targets_attached')).some((r) => r.detail.attachedBy === 'admin'), 'certificate.targets_attached');
    await eventually(async () => (await audit('ct.watchlist_changed')).some((r) => r.detail.changedBy === 'admin'), 'ct.watchlist_changed');
    await eventually(async () => (await audit('renewal.started')).some((r) => r.detail.requestedBy === 'admin' && r.detail.certificateId === issued.body.certificateId), 'renewal.started with its requester');
  });

  it('refuses an owner the ownership rules contradict, and judges IPv6 addresses by their bits', async () => {
    const owner = await call('alice', 'POST', '/certificates', { commonName: 'api.payments.example.com', owner: 'alice' });
    expect(owner.status).toBe(400);
    expect(owner.body.error.field).toBe('owner');
    const policy = parsePolicy({ rules: [{ allowedDomains: ['example.com'], allowIpAddresses: 'private', deniedNames: ['fd00::1'] }] }, (f) => f);
    for (const spelling of ['fd00:0::1', 'fd00:0:0:0:0:0:0:1', 'FD00::1']) {
      expect(evaluatePolicy(policy, { names: [normaliseName(spelling, 'n')], keyAlgorithm: 'EC_P256', validityDays: 30, profile: 'tls-server' }).decision, spelling).toBe('deny');
    }
    for (const notPrivate of ['fd::1', 'fd::8.8.8.8']) {
      expect(evaluatePolicy(policy, { names: [normaliseName(notPrivate, 'n')], keyAlgorithm: 'EC_P256', validityDays: 30, profile: 'tls-server' }).decision, notPrivate).toBe('needs_approval');
    }
    const viaApi = await call('alice', 'POST', '/certificates', { commonName: 'v6.example.com', subjectAlternativeNames: ['fd::1'] });
    expect(viaApi.status).toBe(202);
  });

  it('reads malformed strings, keys and request-targets as the caller\'s mistakes (400), never a 500', async () => {
    const universal = Buffer.from([0x1c, 0x04, 0x00, 0x11, 0x00, 0x00]);
    expect(() => stringValue(universal, readTlv(universal, 0), 'name')).toThrow(/no Unicode code point/);
    const bmp = Buffer.from([0x1e, 0x03, 0x00, 0x41, 0x00]);
    expect(() => stringValue(bmp, readTlv(bmp, 0), 'name')).toThrow(/odd number of bytes/);
    // An EC key off its curve in an otherwise well-formed request.
    const { csrPem } = await newKeyAndCsr('EC_P256', 'curve.example.com', ['curve.example.com']);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const point = der.indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04]));
    der[point + 10] ^= 0xff;
    await expect(readCsr(der)).rejects.toMatchObject({ status: 400, field: 'csr' });
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect((await call('alice', 'POST', '/certificates', { commonName: 'curve.example.com', csr: pem })).status).toBe(400);
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(stack.url).port), '127.0.0.1', () => socket.write(`GET //[ HTTP/1.1\r\nHost: 127.0.0.1:${new URL(stack.url).port}\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.on('data', (d) => (text += d));
      socket.on('end', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 4\d\d/);
  });

  it('renews onto a target only while its access rules still let the requester deploy there', async () => {
    const dir = join(home, 'targets', 'team');
    await call('admin', 'POST', '/targets', { name: 'team', type: 'filesystem', directory: dir, allowed: { roles: ['requester'] } });
    const issued = await call('alice', 'POST', '/certificates', { commonName: 'team.example.com', targets: ['team'] });
    await eventually(async () => existsSync(join(dir, 'cert.pem')), 'the first deployment');
    const first = readFileSync(join(dir, 'cert.pem'), 'utf8');
    await call('admin', 'POST', '/targets', { name: 'team', type: 'filesystem', directory: dir });
    expect((await call('alice', 'POST', `/certificates/${issued.body.certificateId}/renew`)).status).toBe(202);
    const history = await eventually(async () => {
      const cert = (await call('alice', 'GET', `/certificates/${issued.body.certificateId}`)).body;
      return cert.status === 'superseded' && cert.history;
    }, 'the renewal to commit');
    expect(history.some((h: { outcome: string; detail?: string }) => h.outcome === 'failed' && /may not deploy to target team/.test(h.detail ?? ''))).toBe(true);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(first);
  });
});
