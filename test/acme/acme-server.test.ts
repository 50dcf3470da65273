import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlattenedSign } from 'jose';
import { ariCertId } from '../../shared/ari.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { certificateBlocks, pemBlocks } from '../../shared/x509/pem.ts';
import { parseKeyAlgorithm } from '../../shared/x509/keys.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { apiCall } from '../support/api.ts';
import { cli } from '../support/cli.ts';
import { certbot, lego } from '../support/acme-clients.ts';
import { RawAcmeClient } from '../support/acme-jws-client.ts';
import { startChallengeTestDns, type ChallengeTestDns } from '../support/challtestsrv.ts';
import { freePort } from '../support/ports.ts';
import { eventually, openssl, startStack, type RunningStack } from '../support/processes.ts';

const der = (pem: string) => certificateBlocks(pem, 'certificate')[0];
/** A new key's CSR for `names`, base64url DER as finalize takes it (RFC 8555 7.4). */
const csrFor = async (...names: string[]) => pemBlocks((await newKeyAndCsr(parseKeyAlgorithm('EC_P256'), names[0], names)).csrPem)[0].der.toString('base64url');

/**
 * certops' ACME server (RFC 8555) with certbot and lego (Debian's) as its clients, over http-01,
 * tls-alpn-01 and dns-01, names resolved by pebble-challtestsrv's DNS (every name is 127.0.0.1).
 */
describe('the ACME server for internal clients (RFC 8555)', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-acme-server-'));
  let stack: RunningStack;
  let dns: ChallengeTestDns;
  let admin: string;
  let httpPort: number;
  let tlsPort: number;
  let directoryUrl: string;
  let rootPem: string;

  /** The inventory's record of the certificate in `pem`, found through the request the order made. */
  async function inventoried(pem: string) {
    const fingerprint = parseCertificate(der(pem)).der;
    const requests = (await apiCall(stack.url, admin, 'GET', '/requests?limit=50')).body.items as { requestId: string; requestedBy: string; certificateId?: string }[];
    for (const r of requests.filter((x) => x.certificateId)) {
      const cert = (await apiCall(stack.url, admin, 'GET', `/certificates/${r.certificateId}`)).body;
      if (Buffer.from(der(cert.certificatePem)).equals(Buffer.from(fingerprint))) return { request: r, cert };
    }
    throw new Error('the certificate is not in the inventory');
  }

  function verifies(leafPem: string, chainPem: string): string {
    const dir = mkdtempSync(join(home, 'verify-'));
    writeFileSync(join(dir, 'root.pem'), rootPem);
    writeFileSync(join(dir, 'chain.pem'), chainPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    return openssl(['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')]);
  }

  const pending = (requestedBy: RegExp) => eventually(async () => {
    const items = (await apiCall(stack.url, admin, 'GET', '/requests?pending=true')).body.items as { requestId: string; requestedBy: string; commonName: string }[];
    return items.find((r) => requestedBy.test(r.requestedBy));
  }, 'a pending request from an ACME account', 60_000, 250);

  beforeAll(async () => {
    dns = await startChallengeTestDns();
    [httpPort, tlsPort] = [await freePort(), await freePort()];
    writeFileSync(join(home, 'config.yaml'), [
      'acmeServer:',
      '  profiles:',
      '    internal: { validityDays: 30 }',
      '    bound: { validityDays: 30, externalAccountRequired: true }',
      '  validation:',
      `    http01Port: ${httpPort}`,
      `    tlsAlpn01Port: ${tlsPort}`,
      `    dnsResolver: ${dns.dnsAddress}`,
      // Every name is 127.0.0.1 here.
      '    allowLoopback: true',
      '',
    ].join('\n'));
    stack = await startStack(home);
    admin = readFileSync(stack.tokenFile, 'utf8').trim();
    directoryUrl = `${stack.url}/acme/internal/directory`;
    const chain = (await apiCall(stack.url, admin, 'GET', '/ca/chain')).body as string;
    rootPem = chain.slice(chain.lastIndexOf('-----BEGIN CERTIFICATE-----'));
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await dns?.close();
  });

  it('certbot obtains a certificate over http-01, renews it and revokes it; each verifies with openssl and enters the inventory with the account as requester', async () => {
    const dir = join(home, 'certbot');
    const server = ['--server', directoryUrl];
    const obtained = await certbot(dir, ['certonly', '--standalone', ...server, '-d', 'app.internal.test', '-d', 'www.app.internal.test', '--agree-tos', '--register-unsafely-without-email'], httpPort);
    expect(obtained.output).toMatch(/Successfully received certificate/);
    const live = join(dir, 'config/live/app.internal.test');
    const first = readFileSync(join(live, 'cert.pem'), 'utf8');
    expect(verifies(first, readFileSync(join(live, 'chain.pem'), 'utf8'))).toMatch(/leaf\.pem: OK/);
    const { request, cert } = await inventoried(first);
    expect(request.requestedBy).toMatch(/^acme:[0-9a-f]{32}$/);
    expect(cert).toMatchObject({ status: 'active', source: 'issued', requestedBy: request.requestedBy });
    expect(cert.subjectAlternativeNames.sort()).toEqual(['app.internal.test', 'www.app.internal.test']);
    // The profile's lifetime, whatever the client might want.
    expect((Date.parse(cert.notAfter) - Date.parse(cert.notBefore)) / 86_400_000).toBeCloseTo(30, 0);

    const renewed = await certbot(dir, ['renew', '--force-renewal', '--no-random-sleep-on-renew', '--cert-name', 'app.internal.test'], httpPort);
    expect(renewed.output).toMatch(/success/);
    const second = readFileSync(join(live, 'cert.pem'), 'utf8');
    expect(second).not.toBe(first);
    expect(verifies(second, readFileSync(join(live, 'chain.pem'), 'utf8'))).toMatch(/leaf\.pem: OK/);

    const revoked = await certbot(dir, ['revoke', ...server, '--cert-name', 'app.internal.test', '--reason', 'keycompromise', '--no-delete-after-revoke'], httpPort);
    expect(revoked.output).toMatch(/successfully revoked/);
    expect((await inventoried(second)).cert).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    // The first one stays as it was: a revocation names one certificate.
    expect((await inventoried(first)).cert.status).toBe('active');
  }, 180_000);

  it('lego obtains over http-01, tls-alpn-01 and dns-01 (a wildcard), renews and revokes', async () => {
    const dir = join(home, 'lego');
    const http = await lego(dir, directoryUrl, ['--domains', 'lego.internal.test', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'run']);
    expect(http.output).toMatch(/Server responded with a certificate/);
    const certPath = join(dir, 'certificates/lego.internal.test.crt');
    const first = readFileSync(certPath, 'utf8');
    // lego's .crt holds the certificate and its chain.
    expect(verifies(first, first)).toMatch(/leaf\.pem: OK/);

    const alpn = await lego(dir, directoryUrl, ['--domains', 'alpn.internal.test', '--tls', '--tls.port', `127.0.0.1:${tlsPort}`, 'run']);
    expect(alpn.output).toMatch(/Server responded with a certificate/);
    expect(alpn.output).toMatch(/TLS-ALPN-01/);

    const script = join(home, 'lego-dns.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = present ] && curl -s -X POST -d "{\\"host\\":\\"$2\\",\\"value\\":\\"$3\\"}" ${dns.managementUrl}/set-txt\nexit 0\n`, { mode: 0o755 });
    const wildcard = await lego(dir, directoryUrl, ['--domains', '*.wild.internal.test', '--dns', 'exec', '--dns.resolvers', dns.dnsAddress, '--dns.disable-cp', 'run'], { EXEC_PATH: script, EXEC_POLLING_INTERVAL: '1', EXEC_PROPAGATION_TIMEOUT: '20' });
    expect(wildcard.output).toMatch(/Server responded with a certificate/);
    const wild = (await inventoried(readFileSync(join(dir, 'certificates/_.wild.internal.test.crt'), 'utf8'))).cert;
    expect(wild.subjectAlternativeNames).toEqual(['*.wild.internal.test']);

    const renewed = await lego(dir, directoryUrl, ['--domains', 'lego.internal.test', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'renew', '--days', '90', '--no-random-sleep']);
    expect(renewed.output).toMatch(/Server responded with a certificate/);
    const second = readFileSync(certPath, 'utf8');
    expect(der(second)).not.toEqual(der(first));
    const revoked = await lego(dir, directoryUrl, ['--domains', 'lego.internal.test', 'revoke']);
    expect(revoked.output).toMatch(/Certificate was revoked/);
    expect((await inventoried(second)).cert.status).toBe('revoked');
  }, 180_000);

  it('an order outside policy waits for an approver when a certops principal is bound to the account: the client sees processing with Retry-After, and certbot completes once it is approved', async () => {
    const team = (await apiCall(stack.url, admin, 'POST', '/tokens', { name: 'ops-team', role: 'requester' })).body.token;
    const mint = async () => (await apiCall(stack.url, team, 'POST', '/acme-eab')).body as { keyId: string; hmacKey: string };
    const bound = `${stack.url}/acme/bound/directory`;
    const client = await RawAcmeClient.open(bound);
    const key = await mint();
    expect((await client.register({ externalAccountBinding: await client.binding(key.keyId, key.hmacKey) })).status).toBe(201);
    const order = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'portal.corp-intranet.net' }] });
    expect(order.status).toBe(201);
    const authz = await client.post(order.body.authorizations[0], undefined);
    const challenge = authz.body.challenges.find((c: { type: string }) => c.type === 'http-01');
    const answer = `${challenge.token}.${await client.thumbprint()}`;
    const responder: Server = createServer((req, res) => res.end(req.url === `/.well-known/acme-challenge/${challenge.token}` ? answer : 'no'));
    await new Promise<void>((r) => responder.listen(httpPort, '127.0.0.1', () => r()));
    try {
      const validated = await client.post(challenge.url, {});
      expect(validated.body).toMatchObject({ status: 'valid', type: 'http-01' });
      expect(validated.headers.get('link')).toMatch(/rel="up"/);
    } finally {
      await new Promise((r) => responder.close(r));
    }
    expect((await client.post(order.headers.get('location')!, undefined)).body.status).toBe('ready');
    const finalized = await client.post(order.body.finalize, { csr: await csrFor('portal.corp-intranet.net') });
    expect(finalized.body.status).toBe('processing');
    expect(Number(finalized.headers.get('retry-after'))).toBeGreaterThan(0);
    const waiting = await pending(/^acme:/);
    expect(waiting.commonName).toBe('portal.corp-intranet.net');
    expect((await apiCall(stack.url, admin, 'POST', `/requests/${waiting.requestId}/approve`, { comment: 'intranet portal' })).status).toBe(200);
    const done = await client.post(order.headers.get('location')!, undefined);
    expect(done.body.status).toBe('valid');
    const chain = await client.post(done.body.certificate, undefined);
    expect(chain.headers.get('content-type')).toBe('application/pem-certificate-chain');
    expect(verifies(chain.body, chain.body)).toMatch(/leaf\.pem: OK/);

    // certbot, as it runs: it polls the processing order until an approver has said yes.
    const second = await mint();
    const run = certbot(join(home, 'certbot-approval'), ['certonly', '--standalone', '--server', bound, '--eab-kid', second.keyId, '--eab-hmac-key', second.hmacKey, '-d', 'wiki.corp-intranet.net', '--agree-tos', '--register-unsafely-without-email'], httpPort);
    const asked = await eventually(async () => {
      const items = (await apiCall(stack.url, admin, 'GET', '/requests?pending=true')).body.items as { requestId: string; commonName: string }[];
      return items.find((r) => r.commonName === 'wiki.corp-intranet.net');
    }, 'certbot\'s request waiting for approval', 60_000, 250);
    expect((await apiCall(stack.url, admin, 'POST', `/requests/${asked.requestId}/approve`, {})).status).toBe(200);
    expect((await run).output).toMatch(/Successfully received certificate/);

    // An account no principal is bound to cannot ask an approver (whoever approved might be whoever asked): refused.
    const anonymous = await RawAcmeClient.open(directoryUrl);
    await anonymous.register();
    const refused = await anonymous.post(anonymous.directory.newOrder, { identifiers: [{ type: 'dns', value: 'dns-refused.corp-intranet.net' }] });
    const dnsChallenge = (await anonymous.post(refused.body.authorizations[0], undefined)).body.challenges.find((c: { type: string }) => c.type === 'dns-01');
    await dns.setTxt('_acme-challenge.dns-refused.corp-intranet.net.', createHash('sha256').update(`${dnsChallenge.token}.${await anonymous.thumbprint()}`).digest('base64url'));
    expect((await anonymous.post(dnsChallenge.url, {})).body.status).toBe('valid');
    const ended = await anonymous.post(refused.body.finalize, { csr: await csrFor('dns-refused.corp-intranet.net') });
    expect(ended.body.status).toBe('invalid');
    expect(ended.body.error.type).toBe('urn:ietf:params:acme:error:rejectedIdentifier');
    expect(ended.body.error.detail).toMatch(/no certops principal is bound/);

    // A bound account orders only while its principal's token works.
    const tokenId = (await apiCall(stack.url, admin, 'GET', '/tokens')).body.items.find((t: { name: string }) => t.name === 'ops-team').tokenId;
    expect((await apiCall(stack.url, admin, 'DELETE', `/tokens/${tokenId}`)).status).toBeLessThan(300);
    const afterRevocation = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'late.internal.test' }] });
    expect(afterRevocation.status).toBe(403);
    expect(afterRevocation.body.type).toBe('urn:ietf:params:acme:error:unauthorized');
  }, 180_000);

  it('answers RFC 8555 error cases with problem documents and a fresh nonce', async () => {
    const client = await RawAcmeClient.open(directoryUrl);
    const problem = (res: { status: number; headers: Headers; body: { type?: string } }, status: number, type: string) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body.type).toBe(`urn:ietf:params:acme:error:${type}`);
      expect(res.headers.get('replay-nonce')).toMatch(/^[A-Za-z0-9_-]+$/);
    };
    // 6.2: a JWS is sent as application/jose+json, with an account algorithm, never none.
    problem(await client.send(client.directory.newAccount, await client.jws(client.directory.newAccount, {}), 'application/json'), 415, 'malformed');
    const none = await client.jws(client.directory.newAccount, {});
    none.protected = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(none.protected, 'base64url').toString()), alg: 'none' })).toString('base64url');
    const refusedAlg = await client.send(client.directory.newAccount, none);
    problem(refusedAlg, 400, 'badSignatureAlgorithm');
    expect(refusedAlg.body).toHaveProperty('algorithms');
    // 6.4: the url in the JWS is the URL requested.
    problem(await client.send(client.directory.newAccount, await client.jws(client.directory.newOrder, {})), 403, 'unauthorized');
    // 6.5: a nonce is good once.
    const nonce = await client.freshNonce();
    const once = await client.send(client.directory.newAccount, await client.jws(client.directory.newAccount, { onlyReturnExisting: true }, { nonce }));
    problem(once, 400, 'accountDoesNotExist');
    problem(await client.send(client.directory.newAccount, await client.jws(client.directory.newAccount, {}, { nonce })), 400, 'badNonce');
    // A tampered signature.
    const tampered = await client.jws(client.directory.newAccount, {});
    tampered.payload = Buffer.from(JSON.stringify({ contact: ['mailto:evil@example.test'] })).toString('base64url');
    problem(await client.send(client.directory.newAccount, tampered), 400, 'malformed');
    problem(await client.post(client.directory.newAccount, { contact: ['tel:+15555550100'] }), 400, 'unsupportedContact');
    expect((await client.register()).status).toBe(201);
    // The same key again finds the same account (RFC 8555 7.3.1).
    const kid = client.kid;
    client.kid = undefined;
    expect((await client.register()).status).toBe(200);
    expect(client.kid).toBe(kid);

    // Orders: DNS identifiers only, a CSR naming exactly them, finalized once ready.
    problem(await client.post(client.directory.newOrder, { identifiers: [{ type: 'ip', value: '10.0.0.1' }] }), 400, 'unsupportedIdentifier');
    problem(await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'bad..name' }] }), 400, 'rejectedIdentifier');
    const order = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'early.internal.test' }] });
    const csr = await csrFor('other.internal.test');
    problem(await client.post(order.body.finalize, { csr }), 403, 'orderNotReady');
    // Another account sees none of this account's orders, and may not use its kid.
    const other = await RawAcmeClient.open(directoryUrl);
    await other.register();
    problem(await other.post(order.headers.get('location')!, undefined), 404, 'malformed');
    problem(await other.post(order.headers.get('location')!, undefined, { kid: `${stack.url}/acme/internal/account/${'0'.repeat(32)}` }), 400, 'accountDoesNotExist');
    // An account is its directory's: its kid written under another directory names nothing there.
    const elsewhere = `${stack.url}/acme/bound/new-order`;
    problem(await other.post(elsewhere, { identifiers: [{ type: 'dns', value: 'x.internal.test' }] }, { kid: other.kid!.replace('/acme/internal/', '/acme/bound/') }), 400, 'accountDoesNotExist');

    // A challenge that fails makes the authorization and the order invalid, with the reason.
    const authz = await client.post(order.body.authorizations[0], undefined);
    const http01 = authz.body.challenges.find((c: { type: string }) => c.type === 'http-01');
    const failed = await client.post(http01.url, {});
    expect(failed.body.status).toBe('invalid');
    expect(failed.body.error.type).toMatch(/urn:ietf:params:acme:error:(connection|incorrectResponse)/);
    expect((await client.post(order.headers.get('location')!, undefined)).body.status).toBe('invalid');

    // A CSR naming other names than the order (dns-01 proves this one).
    const good = await client.post(client.directory.newOrder, { identifiers: [{ type: 'dns', value: 'csr.internal.test' }] });
    const dnsChallenge = (await client.post(good.body.authorizations[0], undefined)).body.challenges.find((c: { type: string }) => c.type === 'dns-01');
    await dns.setTxt('_acme-challenge.csr.internal.test.', createHash('sha256').update(`${dnsChallenge.token}.${await client.thumbprint()}`).digest('base64url'));
    expect((await client.post(dnsChallenge.url, {})).body.status).toBe('valid');
    problem(await client.post(good.body.finalize, { csr }), 400, 'badCSR');

    // 7.1.2.1: the account lists its orders, newest first.
    const account = await client.post(client.kid!, undefined);
    expect((await client.post(account.body.orders, undefined)).body.orders).toEqual([good.headers.get('location'), order.headers.get('location')]);
    problem(await other.post(account.body.orders, undefined), 403, 'unauthorized');

    // 7.3.5: a key change; the old key no longer signs for the account.
    const newKey = await RawAcmeClient.newKey();
    const inner = await new FlattenedSign(new TextEncoder().encode(JSON.stringify({ account: client.kid, oldKey: client.key.jwk }))).setProtectedHeader({ alg: 'ES256', jwk: newKey.jwk, url: client.directory.keyChange } as never).sign(newKey.privateKey);
    expect((await client.post(client.directory.keyChange, inner)).status).toBe(200);
    problem(await client.post(client.kid!, undefined), 400, 'malformed');
    const moved = Object.assign(Object.create(Object.getPrototypeOf(client)), client, { key: newKey });
    expect((await moved.post(client.kid!, undefined)).body.status).toBe('valid');
  }, 180_000);

  it('requires External Account Binding where the profile says, minted for a certops principal who may then not approve its account\'s requests', async () => {
    const bound = `${stack.url}/acme/bound/directory`;
    const without = await lego(join(home, 'lego-noeab'), bound, ['--domains', 'eab.internal.test', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'run']);
    expect(without.code).not.toBe(0);
    expect(without.output).toMatch(/External Account Binding/);
    const minted = await cli(['acme', 'eab', '--endpoint', stack.url, '--json'], { CERTOPS_HOME: home });
    expect(minted.stderr).toBe('');
    const key = JSON.parse(minted.stdout);
    const eab = ['--eab', '--kid', key.keyId, '--hmac', key.hmacKey];
    const run = lego(join(home, 'lego-eab'), bound, [...eab, '--domains', 'billing.corp-intranet.net', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'run']);
    const waiting = await pending(/^acme:/);
    // The admin who minted the binding asked through it: four eyes.
    const self = await apiCall(stack.url, admin, 'POST', `/requests/${waiting.requestId}/approve`, {});
    expect(self.status).toBe(403);
    const approver = (await apiCall(stack.url, admin, 'POST', '/tokens', { name: 'second-pair-of-eyes', role: 'approver' })).body.token;
    expect((await apiCall(stack.url, approver, 'POST', `/requests/${waiting.requestId}/approve`, {})).status).toBe(200);
    expect((await run).output).toMatch(/Server responded with a certificate/);
    // A binding binds one account.
    const again = await lego(join(home, 'lego-eab-again'), bound, [...eab, '--domains', 'eab.internal.test', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'run']);
    expect(again.code).not.toBe(0);
  }, 180_000);

  it('tells when to renew what it issued (ACME Renewal Information, RFC 9773), and that a revoked certificate is due now', async () => {
    const dir = join(home, 'lego-ari');
    await lego(dir, directoryUrl, ['--domains', 'ari.internal.test', '--http', '--http.port', `127.0.0.1:${httpPort}`, 'run']);
    const cert = parseCertificate(der(readFileSync(join(dir, 'certificates/ari.internal.test.crt'), 'utf8')));
    const directory = await (await fetch(directoryUrl)).json();
    const ask = () => fetch(`${directory.renewalInfo}/${ariCertId(cert)}`);
    const res = await ask();
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const { suggestedWindow } = await res.json();
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    // Two thirds of the lifetime, certops' own default window.
    expect(Date.parse(suggestedWindow.start)).toBeCloseTo(cert.notBefore.getTime() + (lifetime * 2) / 3, -4);
    expect(Date.parse(suggestedWindow.end)).toBeGreaterThan(Date.parse(suggestedWindow.start));
    expect(Date.parse(suggestedWindow.end)).toBeLessThan(cert.notAfter.getTime());
    await lego(dir, directoryUrl, ['--domains', 'ari.internal.test', 'revoke']);
    const after = await (await ask()).json();
    expect(Date.parse(after.suggestedWindow.end)).toBeLessThan(Date.now());
    expect((await fetch(`${directory.renewalInfo}/AAAA.BBBB`)).status).toBe(404);
  }, 180_000);
});
