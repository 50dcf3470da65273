import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.ts';
import { eventually, openssl, startStack, type RunningStack } from './support/processes.ts';
import { createCsr, extensionRequest, generateKeyPair, signCsr, subjectAltName } from '../shared/x509/keys.ts';

const CONFIG = `
policy:
  approvalTimeoutHours: 0.002   # about seven seconds, so the test can watch a request lapse
  rules:
    - environment: prod
      allowedDomains: [shop.example.com]
      deniedNames: [admin.shop.example.com]
      allowWildcards: false
      allowIpAddresses: false
      maxNames: 3
      keyTypes: [EC_P256, EC_P384]
      maxValidityDays: 90
      ownerRequired: true
    - environment: lab
      allowedDomains: [lab.example.com]
      approval: never
    - allowedDomains: [example.com, example.org, test]
      allowWildcards: true
      allowIpAddresses: private
`;

describe('issuance under policy, approvals and revocation', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-issuance-'));
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  const api = async (who: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const request = (who: string, body: object, headers?: Record<string, string>) => api(who, 'POST', '/certificates', body, headers);

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), CONFIG);
    stack = await startStack(home, { CERTOPS_SCHEDULE_INTERVAL_MS: '1000' });
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const [role, name] of [['requester', 'rita'], ['approver', 'alice'], ['approver', 'bob']] as const) {
      tokens[name] = (await api('admin', 'POST', '/tokens', { role, name })).body.token;
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('issues what policy allows and refuses what it forbids, with reasons', async () => {
    const ok = await request('rita', { commonName: 'shop.example.com', environment: 'prod', owner: 'team-shop' });
    expect(ok.status).toBe(201);
    expect(ok.body.status).toBe('issued');
    const refused: [object, RegExp][] = [
      [{ commonName: 'shop.example.com', environment: 'prod' }, /an owner is required/],
      [{ commonName: 'shop.example.com', environment: 'prod', owner: 'o', keyAlgorithm: 'RSA_2048' }, /key RSA_2048 is not allowed/],
      [{ commonName: 'shop.example.com', environment: 'prod', owner: 'o', validityDays: 200 }, /validity of 200 days is over the 90 allowed/],
      [{ commonName: 'admin.shop.example.com', environment: 'prod', owner: 'o' }, /admin.shop.example.com is a denied name/],
      [{ commonName: 'a.shop.example.com', subjectAlternativeNames: ['b.shop.example.com', 'c.shop.example.com', 'd.shop.example.com'], environment: 'prod', owner: 'o' }, /4 names requested, at most 3/],
      [{ commonName: 'www.other.org', environment: 'lab' }, /outside the allowed domains \(lab.example.com\)/],
    ];
    for (const [body, reason] of refused) {
      const res = await request('rita', body);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(res.body.status).toBe('rejected');
      expect(res.body.reasons.join('; ')).toMatch(reason);
      expect(res.body.certificateId).toBeUndefined();
    }
    const policyRejections = await eventually(async () => {
      const r = siem().filter((l) => l.event_type === 'request.rejected' && l.decidedBy === 'policy');
      return r.length >= refused.length && r;
    }, 'request.rejected events');
    expect(policyRejections).toHaveLength(refused.length);
  });

  it('compares a CSR\'s names with the request\'s in canonical form, and refuses a CSR repeating subjectAltName (RFC 4291 2.5.5.2, RFC 5280 4.2)', async () => {
    const keys = await generateKeyPair('EC_P256');
    const trailingDot = await request('rita', { commonName: 'td.example.com', csr: await createCsr('EC_P256', keys, 'td.example.com', ['td.example.com.']) });
    expect(trailingDot.status).toBe(201);
    expect(trailingDot.body.status).toBe('issued');
    const mapped = await request('rita', { commonName: 'm.example.com', subjectAlternativeNames: ['m.example.com', '10.0.0.7'], csr: await createCsr('EC_P256', keys, 'm.example.com', ['m.example.com', '::ffff:10.0.0.7']) });
    expect(mapped.status).toBe(201);
    expect((await api('admin', 'GET', `/certificates/${mapped.body.certificateId}`)).body.subjectAlternativeNames).toEqual(['m.example.com', '10.0.0.7']);
    const repeated = await request('rita', { commonName: 'dup.example.com', csr: await signCsr('EC_P256', keys, 'dup.example.com', [extensionRequest([subjectAltName(['dup.example.com']), subjectAltName(['admin.example.net'])])]) });
    expect(repeated.status).toBe(400);
    expect(repeated.body.error).toMatchObject({ field: 'csr', message: 'csr carries the subjectAltName extension more than once (RFC 5280 4.2: MUST NOT)' });
  });

  it('waits for a second pair of eyes: the requester may not approve, an approver may, once', async () => {
    const pending = await request('rita', { commonName: 'pay.corp.internal', subjectAlternativeNames: ['*.api.shop.example.com'], environment: 'prod', owner: 'team-pay' });
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ status: 'pending_approval' });
    expect(pending.body.reasons.join('; ')).toMatch(/pay.corp.internal is outside the allowed domains.*\*.api.shop.example.com: wildcards are not allowed/);
    const id = pending.body.requestId;
    expect((await api('rita', 'POST', `/requests/${id}/approve`)).status).toBe(403);
    // A second token under rita's name (an approver's) cannot be had: names are unique.
    const duplicate = await api('admin', 'POST', '/tokens', { role: 'approver', name: 'rita' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.field).toBe('name');
    // Whoever may approve may still not approve what they asked for.
    const own = await request('admin', { commonName: 'own.corp.internal', environment: 'prod', owner: 'team-pay' });
    const self = await api('admin', 'POST', `/requests/${own.body.requestId}/approve`);
    expect(self.status).toBe(403);
    expect(self.body.error.message).toMatch(/admin made request .* and may not decide it/);

    const [a, b] = await Promise.all([
      api('alice', 'POST', `/requests/${id}/approve`, { comment: 'CHG-42' }),
      api('bob', 'POST', `/requests/${id}/approve`, { comment: 'me too' }),
    ]);
    const winners = [a, b].filter((r) => r.status === 200);
    expect(winners.length).toBeGreaterThanOrEqual(1);
    expect(new Set(winners.map((w) => w.body.certificateId)).size).toBe(1);
    const certificateId = winners[0].body.certificateId;
    const decided = (await api('alice', 'GET', `/requests/${id}`)).body;
    expect(decided).toMatchObject({ status: 'issued', certificateId });
    expect(['alice', 'bob']).toContain(decided.decidedBy);
    // Approving again (a retried call) answers the same and issues nothing.
    expect((await api('alice', 'POST', `/requests/${id}/approve`)).body).toMatchObject({ status: 'issued', certificateId });
    const approved = await eventually(async () => {
      const found = siem().filter((l) => l.event_type === 'request.approved' && l.requestId === id);
      return found.length > 0 && found;
    }, 'request.approved');
    expect(approved).toHaveLength(1);
    const issued = await eventually(async () => {
      const found = siem().filter((l) => l.event_type === 'certificate.issued' && l.requestId === id);
      return found.length > 0 && found;
    }, 'certificate.issued');
    expect(issued.map((e: any) => e.certificateId)).toEqual([certificateId]);
  });

  it('rejects with a reason on request, and lapses requests nobody decides', async () => {
    const first = (await request('rita', { commonName: 'x.corp.internal' })).body.requestId;
    const rejected = await api('bob', 'POST', `/requests/${first}/reject`, { comment: 'use the shared name' });
    expect(rejected).toMatchObject({ status: 200, body: { status: 'rejected' } });
    expect((await api('alice', 'POST', `/requests/${first}/approve`)).status).toBe(409);
    const late = (await request('rita', { commonName: 'late.corp.internal' })).body.requestId;
    const lapsed = await eventually(async () => siem().find((l) => l.event_type === 'request.rejected' && l.requestId === late), 'the pending request to lapse', 30_000);
    expect(lapsed).toMatchObject({ decidedBy: 'expiry' });
    expect((await api('alice', 'POST', `/requests/${late}/approve`)).status).toBe(409);
  });

  it('answers a retried request with the first answer and issues nothing new, even concurrently and from the bus', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => request('rita', { commonName: 'idem.example.com' }, { 'idempotency-key': 'order-7' })));
    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(new Set(answers.map((a) => a.body.requestId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.certificateId)).size).toBe(1);
    const provisioner = (await api('admin', 'POST', '/tokens', { role: 'requester', name: 'provisioner', eventSources: ['com.example.provisioner'] })).body.token;
    tokens.provisioner = provisioner;
    const entry = { EventBusName: 'certops-local', Source: 'com.example.provisioner', DetailType: 'certificate.requested', Detail: JSON.stringify({ commonName: 'replayed.example.org', eventId: 'provisioner-123' }) };
    const put = (entries: object[]) => api('provisioner', 'POST', '/', { Entries: entries }, { 'x-amz-target': 'AWSEvents.PutEvents' });
    expect((await put([entry, entry])).body.FailedEntryCount).toBe(0);
    expect((await put([entry])).body.FailedEntryCount).toBe(0);
    await eventually(async () => siem().some((l) => l.event_type === 'certificate.issued' && l.commonName === 'replayed.example.org'), 'the bus request');
    await new Promise((r) => setTimeout(r, 500));
    expect(siem().filter((l) => l.event_type === 'certificate.issued' && l.commonName === 'replayed.example.org')).toHaveLength(1);
  });

  it('issues certificates openssl accepts, with the extensions a PKI team expects', async () => {
    const answer = await request('rita', { commonName: 'ext.example.com', subjectAlternativeNames: ['10.0.0.7'], keyAlgorithm: 'RSA_2048', profile: 'tls-server' });
    const cert = await eventually(async () => {
      const r = await api('rita', 'GET', `/certificates/${answer.body.certificateId}`);
      return r.status === 200 && r.body;
    }, 'the certificate');
    const text = openssl(['x509', '-noout', '-text'], cert.certificatePem);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage: \s*TLS Web Server Authentication/);
    expect(text).toMatch(/DNS:ext.example.com, IP Address:10.0.0.7/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toMatch(/Authority Key Identifier/);
    expect(text).toContain(`URI:${stack.url}/crl/local.crl`);
    expect(text).toContain(`CA Issuers - URI:${stack.url}/ca/local.crt`);
    // What the AIA names is the issuing CA's certificate in DER (RFC 5280 4.2.2.1), the one that signed the leaf.
    const aia = await fetch(`${stack.url}/ca/local.crt`);
    expect(aia.headers.get('content-type')).toBe('application/pkix-cert');
    const issuerDer = Buffer.from(await aia.arrayBuffer());
    const issuerText = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-subject'], { input: issuerDer, encoding: 'utf8' });
    expect(issuerText.trim().replace(/^subject=\s*/, '').replace(/\s*=\s*/g, '=')).toBe(openssl(['x509', '-noout', '-issuer'], cert.certificatePem).trim().replace(/^issuer=\s*/, '').replace(/\s*=\s*/g, '='));
    expect(text).toMatch(/Serial Number:\s*\n?\s*([0-9a-f]{2}:){15}[0-9a-f]{2}/);
    const dir = mkdtempSync(join(tmpdir(), 'certops-x509-'));
    writeFileSync(join(dir, 'chain.pem'), await (await fetch(`${stack.url}/ca/chain`)).text());
    writeFileSync(join(dir, 'leaf.pem'), cert.certificatePem);
    expect(openssl(['verify', '-CAfile', join(home, 'ca', 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')])).toContain('OK');
    const client = await request('rita', { commonName: 'client.example.com', profile: 'tls-client' });
    const clientCert = (await eventually(async () => (await api('rita', 'GET', `/certificates/${client.body.certificateId}`)).body?.certificatePem && (await api('rita', 'GET', `/certificates/${client.body.certificateId}`)).body, 'the client certificate'));
    expect(openssl(['x509', '-noout', '-text'], clientCert.certificatePem)).toMatch(/Extended Key Usage: \s*TLS Web Client Authentication/);
  });

  it('revokes: the CRL openssl verifies lists the serial with its reason; revoking twice changes nothing', async () => {
    const answer = await request('rita', { commonName: 'revoke-me.example.com' });
    const id = answer.body.certificateId;
    await eventually(async () => (await api('rita', 'GET', `/certificates/${id}`)).status === 200, 'the certificate');
    expect((await api('rita', 'POST', `/certificates/${id}/revoke`, { reason: 'keyCompromise' })).status).toBe(403);
    const bad = await api('alice', 'POST', `/certificates/${id}/revoke`, { reason: 'because' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('reason');
    const revoked = await api('alice', 'POST', `/certificates/${id}/revoke`, { reason: 'keyCompromise' });
    expect(revoked).toMatchObject({ status: 200, body: { status: 'revoked', reason: 'keyCompromise' } });
    expect((await api('bob', 'POST', `/certificates/${id}/revoke`, { reason: 'superseded' })).body).toEqual(revoked.body);
    const cert = (await api('rita', 'GET', `/certificates/${id}`)).body;
    expect(cert.status).toBe('revoked');

    const dir = mkdtempSync(join(tmpdir(), 'certops-crl-'));
    writeFileSync(join(dir, 'crl.der'), Buffer.from(await (await fetch(`${stack.url}/crl/local.crl`)).arrayBuffer()));
    writeFileSync(join(dir, 'chain.pem'), await (await fetch(`${stack.url}/ca/chain`)).text());
    const crl = openssl(['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-CAfile', join(dir, 'chain.pem'), '-verify', '-noout', '-text']);
    expect(crl).toMatch(/Next Update: /);
    expect(crl).toContain(`Serial Number: ${cert.serialNumber.replaceAll(':', '')}`);
    expect(crl).toMatch(/Key Compromise/);
    await eventually(async () => siem().filter((l) => l.event_type === 'certificate.revoked' && l.certificateId === id).length === 1 || undefined, 'one certificate.revoked');
    expect((await fetch(`${stack.url}/crl/nope.crl`)).status).toBe(404);
  });

  it('revokes every certificate of a key after a dry run that lists them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-key-'));
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'key.pem')]);
    const ids: string[] = [];
    for (const name of ['k1.example.com', 'k2.example.com']) {
      openssl(['req', '-new', '-key', join(dir, 'key.pem'), '-subj', `/CN=${name}`, '-out', join(dir, `${name}.csr`)]);
      ids.push((await request('rita', { commonName: name, csr: readFileSync(join(dir, `${name}.csr`), 'utf8') })).body.certificateId);
    }
    const spki = (await eventually(async () => (await api('rita', 'GET', `/certificates/${ids[1]}`)).body?.spkiSha256, 'the certificates'));
    await eventually(async () => (await api('rita', 'GET', `/certificates/${ids[0]}`)).status === 200, 'the first certificate');
    const env = { CERTOPS_HOME: home };
    const dry = JSON.parse((await cli(['revoke', '--key', spki, '--reason', 'keyCompromise', '--dry-run', '--json', '--endpoint', stack.url], env)).stdout);
    expect(dry.wouldRevoke.map((c: any) => c.certificateId).sort()).toEqual([...ids].sort());
    expect((await api('rita', 'GET', `/certificates/${ids[0]}`)).body.status).toBe('active');
    const done = JSON.parse((await cli(['revoke', '--key', spki, '--reason', 'keyCompromise', '--json', '--endpoint', stack.url], env)).stdout);
    expect(done.revoked).toHaveLength(2);
    for (const id of ids) expect((await api('rita', 'GET', `/certificates/${id}`)).body.status).toBe('revoked');
    expect((await cli(['revoke', '--reason', 'keyCompromise', '--endpoint', stack.url], env)).code).toBe(2);
    // A key that is not a SHA-256 (the README's placeholder as typed) is refused, not matched against nothing.
    const placeholder = await cli(['revoke', '--key', 'SPKI_SHA256', '--reason', 'keyCompromise', '--dry-run', '--endpoint', stack.url], env);
    expect(placeholder.code).toBe(1);
    expect(placeholder.stderr).toMatch(/spkiSha256 must be the SHA-256 .* 64 hex digits \(field: spkiSha256\)/);
  });
});
