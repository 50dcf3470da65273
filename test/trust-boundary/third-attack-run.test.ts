import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable } from '../../bin/terminal-text.ts';
import { normaliseName } from '../../shared/names.ts';
import { cli } from '../support/cli.ts';
import { makeChain } from '../support/pki.ts';
import { eventually, startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';

const CONFIG = `
inventory:
  ownership:
    - domain: payments.example.com
      environment: prod
      owner: team-payments
policy:
  rules:
    - environment: prod
      allowedDomains: [payments.example.com]
      ownerRequired: true
    - allowedDomains: [example.com]
      allowIpAddresses: private
      deniedNames: [10.9.9.9]
`;

/** What the third attack run found, each written as the attack. */
describe('the third attack run', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-attack3-'));
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  const call = (who: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => apiCall(stack.url, tokens[who], method, path, body, headers);
  /** An anonymous POST /imports's head, declaring `length` bytes of body. */
  const importHead = (length: number) => `POST /imports HTTP/1.1\r\nHost: 127.0.0.1:${new URL(stack.url).port}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  /** Sends raw bytes and answers the status line and headers the server sent back (it may never read the rest). */
  const headOfAnswer = (raw: string) => new Promise<string>((resolve, reject) => {
    const socket = connect(Number(new URL(stack.url).port), '127.0.0.1', () => socket.write(raw));
    let text = '';
    socket.on('data', (d) => {
      text += d;
      if (/\r\n\r\n/.test(text)) socket.destroy();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  const audit = async (type: string) => (await call('admin', 'GET', `/events?type=${type}&limit=100`)).body.items as { detail: Record<string, unknown> }[];

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), CONFIG);
    stack = await startStack(home);
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const [name, role] of [['alice', 'requester'], ['bob', 'approver']] as const) tokens[name] = (await call('admin', 'POST', '/tokens', { name, role })).body.token;
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('answers an unauthenticated upload with 401 before reading its body', async () => {
    expect(await headOfAnswer(`${importHead(100_000_000)}{"pem":"`)).toMatch(/^HTTP\/1\.1 401/);
  });

  it('lets anonymous small bodies hold at most their own budget: past it, an anonymous sender is refused before its body, and callers with a token still get through', async () => {
    const { port } = new URL(stack.url);
    // 70 anonymous senders each declare 16 KiB, send most of it and stall: more than the 1 MiB budget.
    const stalled = await Promise.all(Array.from({ length: 70 }, () => new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(`${importHead(16_384)}${'x'.repeat(16_000)}`, () => resolve(socket)));
      socket.on('error', reject);
    })));
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await headOfAnswer(`${importHead(100)}{"pem":"`)).toMatch(/^HTTP\/1\.1 401/);
      const withToken = await call('alice', 'POST', '/certificates', { commonName: 'budget.example.com' });
      expect(withToken.status).toBe(201);
    } finally {
      for (const socket of stalled) socket.destroy();
    }
  });

  it('serves the CLI on a socket only this user can open, found through CERTOPS_HOME', async () => {
    const socketPath = join(home, 'api.sock');
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    // No --endpoint, and a PORT where nothing listens: the CLI finds the suite by its socket.
    const listed = await cli(['list', '--json'], { CERTOPS_HOME: home, PORT: '1', CERTOPS_TOKEN: '' });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveProperty('items');
  });

  it('bounds the Idempotency-Key and refuses RSA keys with a weak public exponent', async () => {
    const long = await call('alice', 'POST', '/certificates', { commonName: 'idem.example.com' }, { 'idempotency-key': 'k'.repeat(300) });
    expect(long.status).toBe(400);
    expect(long.body.error.field).toBe('Idempotency-Key');
    const dir = mkdtempSync(join(tmpdir(), 'certops-e3-'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-pkeyopt', 'rsa_keygen_pubexp:3', '-out', join(dir, 'k.pem')], { stdio: 'ignore' });
    const csr = execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=e3.example.com'], { encoding: 'utf8' });
    const weak = await call('alice', 'POST', '/certificates', { commonName: 'e3.example.com', csr });
    expect(weak.status).toBe(400);
    expect(weak.body.error).toMatchObject({ field: 'csr', message: expect.stringMatching(/public exponent/) });
  });

  it('judges an IPv4-mapped IPv6 address as the IPv4 address it is', async () => {
    expect(normaliseName('::ffff:10.9.9.9', 'n')).toBe('10.9.9.9');
    expect(normaliseName('::FFFF:0a09:0909', 'n')).toBe('10.9.9.9');
    const denied = await call('alice', 'POST', '/certificates', { commonName: 'mapped.example.com', subjectAlternativeNames: ['mapped.example.com', '::ffff:10.9.9.9'] });
    expect(denied.status).toBe(403);
    expect(JSON.stringify(denied.body)).toMatch(/10\.9\.9\.9/);
  });

  it('offers only final revocations, and lets a revocation become keyCompromise', async () => {
    const issued = await call('alice', 'POST', '/certificates', { commonName: 'final.example.com' });
    expect(issued.status).toBe(201);
    for (const reason of ['certificateHold', 'removeFromCRL']) {
      const answer = await call('bob', 'POST', `/certificates/${issued.body.certificateId}/revoke`, { reason });
      expect(answer.status, reason).toBe(400);
      expect(answer.body.error.field).toBe('reason');
    }
    expect((await call('bob', 'POST', `/certificates/${issued.body.certificateId}/revoke`, { reason: 'superseded' })).status).toBe(200);
    expect((await call('bob', 'POST', `/certificates/${issued.body.certificateId}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);
    const cert = (await call('alice', 'GET', `/certificates/${issued.body.certificateId}`)).body;
    expect(cert).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    await eventually(async () => (await audit('certificate.revoked')).filter((r) => r.detail.certificateId === issued.body.certificateId).length === 2, 'both revocations audited');
  });

  it('does not commit a renewal whose certificate was revoked while it ran', async () => {
    const dir = join(home, 'targets', 'slow');
    const started = join(home, 'reload-started');
    expect((await call('admin', 'POST', '/targets', { name: 'slow', type: 'filesystem', directory: dir, reloadCommand: `touch ${started}; sleep 2` })).status).toBe(201);
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'race.example.com', targets: ['slow'] });
    expect(issued.status).toBe(201);
    await eventually(async () => existsSync(started), 'the first deployment');
    await eventually(async () => (await audit('deployment.succeeded')).some((r) => r.detail.certificateId === issued.body.certificateId), 'the first deployment to finish');
    rmSync(started);
    expect((await call('admin', 'POST', `/certificates/${issued.body.certificateId}/renew`)).status).toBe(202);
    await eventually(async () => existsSync(started), 'the renewal to deploy');
    expect((await call('bob', 'POST', `/certificates/${issued.body.certificateId}/revoke`, { reason: 'keyCompromise' })).status).toBe(200);
    const failed = await eventually(async () => (await audit('renewal.failed')).find((r) => r.detail.certificateId === issued.body.certificateId), 'renewal.failed', 60_000);
    expect(failed.detail).toMatchObject({ step: 'commit', cause: expect.stringMatching(/was revoked meanwhile/) });
    const old = (await call('admin', 'GET', `/certificates/${issued.body.certificateId}`)).body;
    expect(old).toMatchObject({ status: 'revoked' });
    expect(old.supersededBy).toBeUndefined();
    expect((await audit('renewal.succeeded')).some((r) => r.detail.certificateId === issued.body.certificateId)).toBe(false);
  });

  it('refuses a target folder under a folder another user may rename things in', async () => {
    if (process.getuid?.() !== 0) return;
    const theirs = join(home, 'targets', 'theirs');
    mkdirSync(theirs, { recursive: true });
    chownSync(theirs, 65534, 65534);
    const dir = join(theirs, 'site');
    mkdirSync(dir, { mode: 0o755 });
    expect((await call('admin', 'POST', '/targets', { name: 'theirs', type: 'filesystem', directory: dir })).status).toBe(201);
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'ancestor.example.com' });
    const attach = await call('admin', 'POST', `/certificates/${issued.body.certificateId}/targets`, { targets: ['theirs'] });
    expect(attach.status).toBe(409);
    expect(attach.body.error.message).toMatch(/above .* belongs to user 65534/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an import labelled against the ownership rules, and names who imported', async () => {
    const { leaf } = await makeChain(['shop.payments.example.com']);
    const mislabelled = await call('alice', 'POST', '/imports', { pem: leaf.pem, environment: 'dev' });
    expect(mislabelled.status).toBe(200);
    expect(mislabelled.body.imported).toEqual([]);
    expect(mislabelled.body.rejected[0].reason).toMatch(/^environment: .*belong to prod/);
    const owner = await call('alice', 'POST', '/imports', { pem: leaf.pem, owner: 'alice' });
    expect(owner.body.rejected[0].reason).toMatch(/^owner: .*belong to team-payments/);
    const right = await call('alice', 'POST', '/imports', { pem: leaf.pem });
    expect(right.body.imported[0]).toMatchObject({ created: true });
    const discovered = await eventually(async () => (await audit('certificate.discovered')).find((r) => r.detail.certificateId === right.body.imported[0].id), 'certificate.discovered');
    expect(discovered.detail).toMatchObject({ discoverySource: 'import', discoveredBy: 'alice' });
    expect((await call('alice', 'GET', `/certificates/${right.body.imported[0].id}`)).body).toMatchObject({ environment: 'prod', owner: 'team-payments' });
  });

  it('the CLI never sends a DER file that is not a certificate, and prints no control characters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-der-'));
    mkdirSync(join(dir, 'etc'));
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-outform', 'DER', '-out', join(dir, 'etc', 'key.der')], { stdio: 'ignore' });
    const { leaf } = await makeChain(['der.example.com']);
    writeFileSync(join(dir, 'etc', 'cert.der'), leaf.der);
    const imported = await cli(['import', join(dir, 'etc')], { CERTOPS_HOME: home, CERTOPS_TOKEN: '' });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/imported 1 certificate \(/);
    expect(imported.stdout).toMatch(/skipped .*key\.der: DER that is not a certificate \(never sent\)/);
    expect(printable('CN=\u001b[2Jevil\u202e\nnext\tcol')).toBe('CN=\\u{1b}[2Jevil\\u{202e}\nnext\tcol');
  });
});
