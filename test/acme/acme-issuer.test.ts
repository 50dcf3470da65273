import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import acmeClient from 'acme-client';
import { AcmeAuthority } from '../../adapters/acme/acme-authority.ts';
import { startTlsAlpnResponder } from '../../adapters/acme/tls-alpn-responder.ts';
import { ariCertId } from '../../shared/ari.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { ConflictError, IssuerRefusedError, NotFoundError, UpstreamError, ValidationError } from '../../shared/errors.ts';
import { parseSuiteConfig, type AcmeIssuerConfig } from '../../adapters/suite-config.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { cli } from '../support/cli.ts';
import { pebbleIssuerYaml, preparePebble, type Pebble, type PebbleSetup } from '../support/pebble.ts';
import { startPebbleFront } from '../support/pebble-front.ts';
import { eventually, openssl, startStack, type RunningStack } from '../support/processes.ts';

const acmeAxios = acmeClient.axios;

/** A TLS handshake with the responder: the certificate it presented (DER), or the error that ended it. */
function alpnHandshake(port: number, servername: string, ALPNProtocols: string[]): Promise<Buffer | Error> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ALPNProtocols, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()!.raw);
      socket.end();
    }).on('error', resolve);
  });
}

/** The JWS payloads acme-client sends from now until `stop` (what an order asked for). */
function sentPayloads() {
  const payloads: Record<string, unknown>[] = [];
  const spy = acmeAxios.interceptors.request.use((config) => {
    const body = typeof config.data === 'string' ? JSON.parse(config.data) : config.data;
    if (body?.payload) payloads.push(JSON.parse(Buffer.from(body.payload, 'base64url').toString() || '{}'));
    return config;
  });
  return { payloads, stop: () => acmeAxios.interceptors.request.eject(spy) };
}

/** Pebble's management API: what it says of a certificate it issued, by serial (hex). */
function pebbleStatus(url: string, ca: string): Promise<{ Status: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject).end();
  });
}

describe('the ACME issuer (RFC 8555) against Pebble', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-acme-'));
  let stack: RunningStack;
  let pebble: Pebble;
  let tlsRootPem: string;
  let managementUrl: string;
  let tlsAlpnPort: number;
  const env = { CERTOPS_HOME: home };

  beforeAll(async () => {
    const setup = await preparePebble(home);
    tlsRootPem = setup.tlsRootPem;
    managementUrl = setup.managementUrl;
    tlsAlpnPort = setup.tlsAlpnPort;
    writeFileSync(join(home, 'config.yaml'), `issuers:\n${pebbleIssuerYaml(setup, 'pebble', ['contact: [mailto:pki@example.test]'])}${pebbleIssuerYaml(setup, 'pebble-alpn', ['challenge: tls-alpn-01'])}${pebbleIssuerYaml(setup, 'pebble-profiled', ['profile: shortlived'])}`);
    stack = await startStack(home, { CERTOPS_ACME_TLS_ALPN_PORT: String(setup.tlsAlpnPort) });
    // One good nonce in five is refused as bad: each must be retried with the fresh one (RFC 8555 6.5).
    pebble = await setup.start(Number(new URL(stack.url).port), { PEBBLE_WFE_NONCEREJECT: '20' });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await pebble?.close();
  });

  it('orders the names, proves each with http-01 served by certops, and keeps what Pebble issued; the chain verifies with openssl', async () => {
    const run = await cli(['request', 'shop.example.test', 'www.shop.example.test', '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env);
    expect(run.stderr).toBe('');
    const answer = JSON.parse(run.stdout);
    expect(answer).toMatchObject({ status: 'issued' });
    const shown = JSON.parse((await cli(['show', answer.certificateId, '--endpoint', stack.url, '--json'], env)).stdout);
    expect(shown).toMatchObject({ status: 'active', issuerBackend: 'pebble', commonName: 'shop.example.test' });
    expect(shown.subjectAlternativeNames.sort()).toEqual(['shop.example.test', 'www.shop.example.test']);
    expect(shown.issuer).toMatch(/Pebble Intermediate CA/);
    // Pebble's own validation reached certops' server for each name.
    expect(pebble.output()).toMatch(/shop\.example\.test/);
    const dir = mkdtempSync(join(home, 'verify-'));
    writeFileSync(join(dir, 'leaf.pem'), shown.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), shown.chainPem);
    writeFileSync(join(dir, 'root.pem'), await pebble.issuingRootsPem());
    expect(openssl(['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')])).toMatch(/leaf\.pem: OK/);
  });

  it('proves names with tls-alpn-01 from its validation responder (RFC 8737), and stops answering for a name once its order is ready', async () => {
    const run = await cli(['request', 'alpn.example.test', '--issuer', 'pebble-alpn', '--endpoint', stack.url, '--json'], env);
    expect(run.stderr).toBe('');
    const shown = JSON.parse((await cli(['show', JSON.parse(run.stdout).certificateId, '--endpoint', stack.url, '--json'], env)).stdout);
    expect(shown).toMatchObject({ status: 'active', issuerBackend: 'pebble-alpn', subjectAlternativeNames: ['alpn.example.test'] });
    // Pebble validated by handshake with the responder (the start said where it listens); the order done, its answer is gone.
    expect(stack.tlsAlpnResponder).toBe(`127.0.0.1:${tlsAlpnPort}`);
    expect(await alpnHandshake(tlsAlpnPort, 'alpn.example.test', ['acme-tls/1'])).toBeInstanceOf(Error);
  });

  it('proves a name for one order at a time over tls-alpn-01: two orders for one name at once are both issued, and a wildcard is refused before anything is ordered', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => cli(['request', 'twice.example.test', '--issuer', 'pebble-alpn', '--endpoint', stack.url, '--json'], env)));
    for (const run of runs) expect(JSON.parse(run.stdout || '{}'), run.stderr).toMatchObject({ status: 'issued' });
    const wildcard = await cli(['request', 'wild.example.test', '*.wild.example.test', '--issuer', 'pebble-alpn', '--endpoint', stack.url, '--json'], env);
    expect(wildcard.code).not.toBe(0);
    expect(wildcard.stderr).toMatch(/409 .*proves neither addresses nor wildcards: \*\.wild\.example\.test .*\(field: subjectAlternativeNames\)/);
    // Refused for good: the request ends rejected by the issuer, with the reason (not left approved for the sweep).
    const requests = JSON.parse((await cli(['requests', 'list', '--endpoint', stack.url, '--json'], env)).stdout).items as { commonName: string; status: string; decidedBy?: string; reasons: string[] }[];
    expect(requests.find((r) => r.commonName === 'wild.example.test')).toMatchObject({ status: 'rejected', decidedBy: 'issuer', reasons: [expect.stringMatching(/proves neither addresses nor wildcards/)] });
  });

  it('rejects a request whose profile the CA does not offer (its refusal is for good), naming the setting', async () => {
    const run = await cli(['request', 'profiled.example.test', '--issuer', 'pebble-profiled', '--endpoint', stack.url, '--json'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/409 .*the CA offers no profile "shortlived" \(its directory names no profiles\) \(field: issuers\.pebble-profiled\.profile\)/);
    const requests = JSON.parse((await cli(['requests', 'list', '--endpoint', stack.url, '--json'], env)).stdout).items as { commonName: string; status: string; decidedBy?: string }[];
    expect(requests.find((r) => r.commonName === 'profiled.example.test')).toMatchObject({ status: 'rejected', decidedBy: 'issuer' });
  });

  it('revokes through the CA with the account that ordered (RFC 8555 7.6)', async () => {
    const issued = JSON.parse((await cli(['request', 'gone.example.test', '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env)).stdout);
    expect(issued.status).toBe('issued');
    const revoked = await cli(['revoke', issued.certificateId, '--reason', 'keyCompromise', '--endpoint', stack.url, '--json'], env);
    expect(revoked.stderr).toBe('');
    const shown = JSON.parse((await cli(['show', issued.certificateId, '--endpoint', stack.url, '--json'], env)).stdout);
    expect(shown.status).toBe('revoked');
    const serial = shown.serialNumber.replace(/:/g, '').toLowerCase().replace(/^0+/, '');
    expect(await pebbleStatus(`${managementUrl}/cert-status-by-serial/${serial}`, tlsRootPem)).toMatchObject({ Status: 'Revoked' });
  });

  it('refuses a CSR that does not name exactly the request\'s names (the CA would refuse to finalize it), naming csr, and rejects the request', async () => {
    const { csrPem } = await newKeyAndCsr('EC_P256', 'part.example.test', ['part.example.test']);
    writeFileSync(join(home, 'part.csr'), csrPem);
    const run = await cli(['request', 'part.example.test', 'more.example.test', '--csr', join(home, 'part.csr'), '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/400 .*an ACME CA issues for the CSR's names exactly.*\(field: csr\)/);
    const requests = JSON.parse((await cli(['requests', 'list', '--endpoint', stack.url, '--json'], env)).stdout).items as { commonName: string; status: string; decidedBy?: string }[];
    expect(requests.find((r) => r.commonName === 'part.example.test')).toMatchObject({ status: 'rejected', decidedBy: 'issuer' });
  });

  it('answers only the tokens it is proving, and nothing for a token it never had', async () => {
    const res = await fetch(`${stack.url}/.well-known/acme-challenge/${'A'.repeat(43)}`);
    expect(res.status).toBe(404);
    expect((await fetch(`${stack.url}/.well-known/acme-challenge/not%20a%20token`)).status).toBe(404);
  });

  it('refuses an ACME issuer configured wrongly, naming the field', async () => {
    const config = readFileSync(join(home, 'config.yaml'), 'utf8');
    const home2 = mkdtempSync(join(tmpdir(), 'certops-acme-bad-'));
    writeFileSync(join(home2, 'config.yaml'), config.replace(/directoryUrl: https:/, 'directoryUrl: http:'));
    const bad = await startStack(home2).then(async (s) => {
      await s.stop();
      return s.output();
    }, (err: Error) => err.message);
    expect(bad).toMatch(/issuers\.pebble\.directoryUrl must be the https URL/);
  });
});

describe('the tls-alpn-01 validation responder (adapters/acme/tls-alpn-responder.ts)', () => {
  it('presents, over acme-tls/1 only, a certificate naming a name being proven with the critical acmeIdentifier of its key authorization (RFC 8737 3)', async () => {
    const live = new Map([['alpn.example.test', 'token-1.thumbprint']]);
    const answers = { get: async (name: string) => live.get(name), put: async () => true, remove: async () => undefined };
    const responder = await startTlsAlpnResponder(answers, { now: () => new Date() }, 0);
    try {
      const served = await alpnHandshake(responder.port, 'alpn.example.test', ['acme-tls/1']);
      expect(served).toBeInstanceOf(Buffer);
      const validation = new X509Certificate(served as Buffer);
      expect(validation.subjectAltName).toBe('DNS:alpn.example.test');
      expect(openssl(['x509', '-noout', '-text'], validation.toString())).toMatch(/1\.3\.6\.1\.5\.5\.7\.1\.31: critical/);
      expect(acmeClient.crypto.isAlpnCertificateAuthorizationValid(validation.toString(), 'token-1.thumbprint')).toBe(true);
      expect(acmeClient.crypto.isAlpnCertificateAuthorizationValid(validation.toString(), 'token-2.thumbprint')).toBe(false);
      // Another name, or another protocol, gets no certificate at all.
      expect(await alpnHandshake(responder.port, 'other.example.test', ['acme-tls/1'])).toBeInstanceOf(Error);
      expect(await alpnHandshake(responder.port, 'alpn.example.test', ['h2', 'http/1.1'])).toBeInstanceOf(Error);
      // A name whose answer is gone is refused at once.
      live.delete('alpn.example.test');
      expect(await alpnHandshake(responder.port, 'alpn.example.test', ['acme-tls/1'])).toBeInstanceOf(Error);
    } finally {
      await responder.close();
    }
  });
});

describe('an ACME CA that has not issued when the issuance stops waiting', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-acme-slow-'));
  let stack: RunningStack;
  let pebble: Pebble;
  const env = { CERTOPS_HOME: home };

  beforeAll(async () => {
    const setup = await preparePebble(home);
    writeFileSync(join(home, 'config.yaml'), `issuers:\n${pebbleIssuerYaml(setup, 'pebble')}${pebbleIssuerYaml(setup, 'pebble-alpn', ['challenge: tls-alpn-01'])}`);
    // No wait at all: every order is still pending when the issuance answers (its challenges just answered).
    stack = await startStack(home, { CERTOPS_ACME_ORDER_WAIT_MS: '0', CERTOPS_SCHEDULE_INTERVAL_MS: '1000', CERTOPS_SAGA_PENDING_RETRY_MS: '500' });
    pebble = await setup.start(Number(new URL(stack.url).port), { PEBBLE_WFE_NONCEREJECT: '0' });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await pebble?.close();
  });

  it('leaves the request pending_validation for the sweep to finish, and the renewal asks the CA again until it has issued (RFC 8555 7.4)', async () => {
    const asked = JSON.parse((await cli(['request', 'slow.example.test', '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env)).stdout);
    expect(asked).toMatchObject({ status: 'pending_validation' });
    const issued = await eventually(async () => {
      const requests = JSON.parse((await cli(['requests', 'list', '--endpoint', stack.url, '--json'], env)).stdout).items as { requestId: string; status: string; certificateId?: string }[];
      return requests.find((r) => r.requestId === asked.requestId && r.status === 'issued');
    }, 'the sweep finished the order', 30_000, 500);
    const renewed = await cli(['renew', issued.certificateId!, '--wait', '--endpoint', stack.url], env);
    expect(renewed.code, renewed.stdout + renewed.stderr).toBe(0);
    expect(renewed.stdout).toMatch(/renewal succeeded: renewed as [0-9a-f]{32}/);
    const successor = /renewed as ([0-9a-f]{32})/.exec(renewed.stdout)![1];
    const shown = JSON.parse((await cli(['show', successor, '--endpoint', stack.url, '--json'], env)).stdout);
    expect(shown).toMatchObject({ status: 'active', issuerBackend: 'pebble', renewalOf: issued.certificateId, subjectAlternativeNames: ['slow.example.test'] });
    expect(shown.issuer).toMatch(/Pebble Intermediate CA/);
  }, 90_000);

  it('refuses a tls-alpn-01 issuer where no validation responder runs (nothing would answer the CA), naming the setting', async () => {
    const run = await cli(['request', 'unanswered.example.test', '--issuer', 'pebble-alpn', '--endpoint', stack.url, '--json'], env);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/409 .*no validation responder runs here.*\(field: issuers\.pebble-alpn\.challenge\)/);
  });
});

describe('the ACME issuer\'s orders, on their own (adapters/acme/acme-authority.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certops-acme-unit-'));
  let pebble: Pebble;
  let server: Server;
  let authority: AcmeAuthority;
  let setup: PebbleSetup;
  const journal = new Map<string, string>();
  const answers = new Map<string, string>();
  const vault = new Map<string, string>();
  const deps = {
    clock: { now: () => new Date() },
    journal: {
      recall: async (ca: string, key: string) => journal.get(`${ca}/${key}`),
      record: async (ca: string, key: string, value: string) => {
        if (!journal.has(`${ca}/${key}`)) journal.set(`${ca}/${key}`, value);
        return journal.get(`${ca}/${key}`)!;
      },
    },
    vault: {
      put: async (ref: string, pem: string) => void vault.set(ref, pem),
      get: async (ref: string) => {
        if (!vault.has(ref)) throw new NotFoundError(`no key ${ref}`, 'keyRef');
        return vault.get(ref)!;
      },
      remove: async (ref: string) => void vault.delete(ref),
    },
    answers: {
      put: async (token: string, keyAuthorization: string) => Boolean(answers.set(token, keyAuthorization)),
      get: async (token: string) => answers.get(token),
      remove: async (token: string) => void answers.delete(token),
    },
    // Answer at once: what the CA has not finished is left to complete().
    waitMs: 0,
  };

  /** An ACME issuer ordering from `directoryUrl` (Pebble, or a front of it), trusting Pebble's TLS root. */
  const issuerConfig = (directoryUrl: string, challenge: AcmeIssuerConfig['challenge'] = 'http-01'): AcmeIssuerConfig => ({ type: 'acme', directoryUrl, contact: [], termsOfServiceAgreed: true, challenge, caBundlePem: setup.tlsRootPem });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const answer = answers.get(String(req.url).split('/').pop()!);
      res.writeHead(answer ? 200 : 404).end(answer ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    setup = await preparePebble(dir);
    // No nonce refused here (Pebble refuses 5% by default): the orders sent are counted as sent once each; the stack's tests refuse them.
    pebble = await setup.start((server.address() as AddressInfo).port, { PEBBLE_WFE_NONCEREJECT: '0' });
    authority = new AcmeAuthority('pebble-unit', issuerConfig(setup.directoryUrl), deps);
  }, 60_000);
  afterAll(async () => {
    await pebble?.close();
    await new Promise((r) => server?.close(r));
  });

  it('answers pending when the CA has not finished, resumes the same order for the same key, and completes it later (RFC 8555 7.4)', async () => {
    const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'later.example.test', ['later.example.test']);
    const input = { csrPem, spkiDer, keyType, commonName: 'later.example.test', subjectAlternativeNames: ['later.example.test'], validityDays: 90, profile: 'tls-server' as const, idempotencyKey: 'req-later' };
    const first = await authority.issue(input);
    expect(first).toEqual({ pending: { reference: 'req-later', validationRecords: [] } });
    const orderUrl = JSON.parse(journal.get('pebble-unit/req-later')!).orderUrl;
    // A retry of the same request carries the same order on: no second order.
    const again = await authority.issue(input);
    expect(JSON.parse(journal.get('pebble-unit/req-later')!).orderUrl).toBe(orderUrl);
    const done = 'pending' in again ? await eventually(() => authority.complete('req-later'), 'the order completed', 20_000, 250) : again;
    expect(certificateRecord(certificateBlocks(done.certificatePem, 'c')[0]).subjectAlternativeNames).toEqual(['later.example.test']);
    expect(certificateBlocks(done.chainPem, 'chain').length).toBeGreaterThanOrEqual(1);
    // One account key, made once, in the vault.
    expect([...vault.keys()]).toEqual([expect.stringMatching(/^ca\/pebble-unit\/acme-account\/[0-9a-f-]{36}$/)]);
  });

  it('reports a refused order with the problem document\'s type and detail (RFC 8555 6.7)', async () => {
    const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'refused.example.test', ['refused.example.test']);
    const input = { csrPem, spkiDer, keyType, commonName: 'refused.example.test', subjectAlternativeNames: ['refused.example.test'], validityDays: 90, profile: 'tls-server' as const, idempotencyKey: 'req-refused' };
    // The server answers every challenge wrongly from now on: the CA's validation fails.
    const original = answers.get.bind(answers);
    answers.get = () => 'not-the-key-authorization';
    try {
      // Pebble may have validated (and refused) before issue() looks, or only by a later complete().
      const outcome = await authority.issue(input).then(
        (pending) => eventually(() => authority.complete((pending as { pending: { reference: string } }).pending.reference).then(() => undefined, (err: Error) => err), 'the refusal', 20_000, 250),
        (err: Error) => err,
      );
      expect(outcome).toBeInstanceOf(ConflictError);
      expect(outcome.message).toMatch(/the CA refused the order: urn:ietf:params:acme:error:unauthorized: The key authorization file from the server did not match/);
      expect((outcome as ConflictError).field).toBe('issuer');
    } finally {
      answers.get = original;
    }
  });

  it('binds the account to the CA\'s external account when it requires one (RFC 8555 7.3.4), and says so when it is missing', async () => {
    const eabDir = mkdtempSync(join(tmpdir(), 'certops-acme-eab-'));
    const eabSetup = await preparePebble(eabDir);
    const hmacKey = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
    const eabPebble = await eabSetup.start((server.address() as AddressInfo).port, {}, { 'kid-1': hmacKey });
    try {
      // Another Pebble: its own directory and TLS root.
      const base = { ...issuerConfig(eabSetup.directoryUrl), caBundlePem: eabSetup.tlsRootPem };
      const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'bound.example.test', ['bound.example.test']);
      const input = { csrPem, spkiDer, keyType, commonName: 'bound.example.test', subjectAlternativeNames: ['bound.example.test'], validityDays: 90, profile: 'tls-server' as const, idempotencyKey: 'req-bound' };
      const unbound = new AcmeAuthority('pebble-unbound', base, deps);
      const refused = await unbound.issue(input).catch((err: Error) => err);
      expect(refused).toBeInstanceOf(UpstreamError);
      expect((refused as Error).message).toMatch(/^issuer pebble-unbound: the ACME CA answered: urn:ietf:params:acme:error:externalAccountRequired: /);
      const bound = new AcmeAuthority('pebble-bound', { ...base, externalAccountBinding: { kid: 'kid-1', hmacKeyRef: 'env:PEBBLE_EAB' } }, { ...deps, waitMs: 15_000, eabHmacKey: async () => hmacKey });
      const issued = await bound.issue(input);
      expect('certificatePem' in issued && certificateRecord(certificateBlocks(issued.certificatePem, 'c')[0]).subjectAlternativeNames).toEqual(['bound.example.test']);
    } finally {
      await eabPebble.close();
    }
  });

  it('asks the CA for its suggested renewal window by the certificate\'s ARI id, and a renewal\'s order names what it replaces (RFC 9773 4, 5)', async () => {
    // Pebble 2.4 has no renewalInfo: a front adds it to the directory and serves it.
    const ids: string[] = [];
    const front = await startPebbleFront(setup, dir, {
      directory: (directory, origin) => ({ ...directory, renewalInfo: `${origin}/renewal-info` }),
      answer: (req, res) => {
        if (!String(req.url).startsWith('/renewal-info/')) return false;
        ids.push(String(req.url).replace('/renewal-info/', ''));
        res.writeHead(200, { 'content-type': 'application/json', 'retry-after': '7200' }).end(JSON.stringify({ suggestedWindow: { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' }, explanationURL: 'https://ca.example/why' }));
        return true;
      },
    });
    const sent = sentPayloads();
    try {
      const ari = new AcmeAuthority('pebble-ari', issuerConfig(front.directoryUrl), { ...deps, waitMs: 15_000 });
      const ask = async (name: string, key: string, replacesCertificatePem?: string) => {
        const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', name, [name]);
        const issued = await ari.issue({ csrPem, spkiDer, keyType, commonName: name, subjectAlternativeNames: [name], validityDays: 90, profile: 'tls-server', idempotencyKey: key, replacesCertificatePem });
        if ('pending' in issued) throw new Error('Pebble did not issue at once');
        return issued.certificatePem;
      };
      const first = await ask('ari.example.test', 'req-ari-1');
      const certId = ariCertId(parseCertificate(certificateBlocks(first, 'c')[0]));
      expect(await ari.suggestedWindow(first)).toEqual({ start: new Date('2027-01-10T00:00:00Z'), end: new Date('2027-01-12T00:00:00Z'), explanationUrl: 'https://ca.example/why', retryAfterSeconds: 7200 });
      expect(ids).toEqual([certId]);
      await ask('ari.example.test', 'req-ari-2', first);
      // A predecessor this issuer did not issue (another issuer's, or an adopted one) is not named.
      const { csrPem: otherCsr, spkiDer: otherSpki, keyType: otherType } = await newKeyAndCsr('EC_P256', 'other.example.test', ['other.example.test']);
      const other = await authority.issue({ csrPem: otherCsr, spkiDer: otherSpki, keyType: otherType, commonName: 'other.example.test', subjectAlternativeNames: ['other.example.test'], validityDays: 90, profile: 'tls-server', idempotencyKey: 'req-other' });
      const otherPem = 'pending' in other ? (await eventually(() => authority.complete('req-other'), 'other issued', 20_000, 250)).certificatePem : other.certificatePem;
      await ask('ari.example.test', 'req-ari-3', otherPem);
      expect(sent.payloads.filter((p) => 'identifiers' in p && (p.identifiers as { value: string }[])[0].value === 'ari.example.test').map((p) => p.replaces)).toEqual([undefined, certId, undefined]);
      // A CA without renewalInfo: nothing to ask, and orders name nothing.
      expect(await authority.suggestedWindow(first)).toBeUndefined();
    } finally {
      sent.stop();
      await front.close();
    }
  });

  it('asks an order again no sooner than the CA\'s Retry-After says, within an attempt and across attempts (RFC 8555 7.4)', async () => {
    // Pebble sends no Retry-After: the front adds one to each answer about an order still in progress.
    const front = await startPebbleFront(setup, dir, {
      headers: (path, body) => (/^\/(my-order|finalize-order)\//.test(path) && !/"status": ?"(valid|invalid)"/.test(body) ? { 'retry-after': '2' } : undefined),
    });
    const polls = (key: string) => front.requests.filter((r) => r.path.startsWith('/my-order/') && r.at >= (since.get(key) ?? 0)).map((r) => r.at);
    const since = new Map<string, number>();
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);
    try {
      const config = issuerConfig(front.directoryUrl);
      const waiting = new AcmeAuthority('pebble-retry', config, { ...deps, waitMs: 15_000 });
      const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'patient.example.test', ['patient.example.test']);
      since.set('one', Date.now());
      const issued = await waiting.issue({ csrPem, spkiDer, keyType, commonName: 'patient.example.test', subjectAlternativeNames: ['patient.example.test'], validityDays: 90, profile: 'tls-server', idempotencyKey: 'req-patient' });
      expect('certificatePem' in issued).toBe(true);
      // Without Retry-After the second look comes 250 ms after the first.
      expect(polls('one').length).toBeGreaterThanOrEqual(2);
      for (const gap of gaps(polls('one'))) expect(gap).toBeGreaterThanOrEqual(1_900);
      // An attempt that does not wait (the sweep's) does not ask before then either.
      const brief = new AcmeAuthority('pebble-retry-brief', config, deps);
      const other = await newKeyAndCsr('EC_P256', 'brief.example.test', ['brief.example.test']);
      since.set('two', Date.now());
      const first = await brief.issue({ ...other, commonName: 'brief.example.test', subjectAlternativeNames: ['brief.example.test'], validityDays: 90, profile: 'tls-server', idempotencyKey: 'req-brief' });
      expect(first).toEqual({ pending: { reference: 'req-brief', validationRecords: [] } });
      const asked = polls('two').length;
      expect(await brief.complete('req-brief')).toBeUndefined();
      expect(polls('two').length).toBe(asked);
      const done = await eventually(() => brief.complete('req-brief'), 'the order completed', 20_000, 100);
      expect(done.certificatePem).toMatch(/BEGIN CERTIFICATE/);
      for (const gap of gaps(polls('two'))) expect(gap).toBeGreaterThanOrEqual(1_900);
    } finally {
      await front.close();
    }
  });

  it('orders the configured profile where the directory lists it, and refuses one it does not, naming the setting', async () => {
    // Pebble 2.4 lists no profiles: the front lists two (as Let's Encrypt's directory does).
    const front = await startPebbleFront(setup, dir, {
      directory: (directory) => ({ ...directory, meta: { ...(directory.meta as object), profiles: { classic: 'the default', shortlived: 'six days' } } }),
    });
    const sent = sentPayloads();
    try {
      const config = issuerConfig(front.directoryUrl);
      const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'profiled.example.test', ['profiled.example.test']);
      const input = { csrPem, spkiDer, keyType, commonName: 'profiled.example.test', subjectAlternativeNames: ['profiled.example.test'], validityDays: 90, profile: 'tls-server' as const };
      const profiled = new AcmeAuthority('pebble-profiled', { ...config, profile: 'shortlived' }, { ...deps, waitMs: 15_000 });
      expect('certificatePem' in (await profiled.issue({ ...input, idempotencyKey: 'req-profiled' }))).toBe(true);
      expect(sent.payloads.filter((p) => 'identifiers' in p).map((p) => p.profile)).toEqual(['shortlived']);
      const unknown = new AcmeAuthority('pebble-unlisted', { ...config, profile: 'tlsserver' }, deps);
      const refused = await unknown.issue({ ...input, idempotencyKey: 'req-unlisted' }).catch((e: Error) => e);
      expect(refused).toBeInstanceOf(ConflictError);
      expect(refused).toMatchObject({ field: 'issuers.pebble-unlisted.profile', message: expect.stringMatching(/offers no profile "tlsserver" \(its profiles: classic, shortlived\)/) });
      expect(sent.payloads.filter((p) => 'identifiers' in p)).toHaveLength(1);
    } finally {
      sent.stop();
      await front.close();
    }
  });

  it('lets two tls-alpn-01 orders over the same names both finish when each first took one name the other needs (a proven name is freed at once)', async () => {
    // The answers as the table keeps them: one order's per name at a time. The first two puts wait
    // for each other, so each order takes one name first: order one a, order two b.
    const live = new Map<string, string>();
    let arrived = 0;
    let bothArrived!: () => void;
    const together = new Promise<void>((r) => (bothArrived = r));
    const tlsAlpnAnswers = {
      put: async (name: string, keyAuthorization: string) => {
        if (arrived < 2 && ++arrived === 2) bothArrived();
        if (arrived <= 2) await together;
        if (live.has(name) && live.get(name) !== keyAuthorization) return false;
        live.set(name, keyAuthorization);
        return true;
      },
      get: async (name: string) => live.get(name),
      remove: async (name: string, keyAuthorization: string) => void (live.get(name) === keyAuthorization && live.delete(name)),
    };
    const responder = await startTlsAlpnResponder(tlsAlpnAnswers, { now: () => new Date() }, setup.tlsAlpnPort);
    try {
      const config = issuerConfig(setup.directoryUrl, 'tls-alpn-01');
      const order = async (issuer: string, names: string[]) => {
        const alpn = new AcmeAuthority(issuer, config, { ...deps, tlsAlpnAnswers, waitMs: 30_000 });
        const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', names[0], names);
        return alpn.issue({ csrPem, spkiDer, keyType, commonName: names[0], subjectAlternativeNames: names, validityDays: 90, profile: 'tls-server', idempotencyKey: `req-${issuer}` });
      };
      const [one, two] = await Promise.all([order('alpn-one', ['a.crossed.test', 'b.crossed.test']), order('alpn-two', ['b.crossed.test', 'a.crossed.test'])]);
      expect('certificatePem' in one && 'certificatePem' in two).toBe(true);
      expect(live.size).toBe(0);
    } finally {
      await responder.close();
    }
  }, 60_000);

  it('names the field of a challenge setting it refuses: an unknown type, a webroot or address for tls-alpn-01', async () => {
    const field = (issuer: Record<string, unknown>) => {
      try {
        parseSuiteConfig({ issuers: { ca: { type: 'acme', directoryUrl: 'https://ca.example/dir', ...issuer } } }, () => 'configuration', '/', '/tmp/siem');
      } catch (err) {
        return (err as ValidationError).field;
      }
      return undefined;
    };
    expect(field({ challenge: 'tls-sni-01' })).toBe('issuers.ca.challenge');
    expect(field({ challenge: 'tls-alpn-01', webroot: 'site' })).toBe('issuers.ca.webroot');
    expect(field({ challenge: 'tls-alpn-01' })).toBeUndefined();
    const alpn = new AcmeAuthority('alpn-unit', issuerConfig(setup.directoryUrl, 'tls-alpn-01'), deps);
    const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', '192.0.2.7', ['192.0.2.7']);
    const refused = await alpn.issue({ csrPem, spkiDer, keyType, commonName: '192.0.2.7', subjectAlternativeNames: ['192.0.2.7'], validityDays: 90, profile: 'tls-server', idempotencyKey: 'req-alpn-ip' }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(IssuerRefusedError);
    expect((refused as IssuerRefusedError).field).toBe('subjectAlternativeNames');
  });

  it('says a CA it cannot reach could not be reached, with the cause, at once (no retries in place)', async () => {
    const down = new AcmeAuthority('pebble-down', { type: 'acme', directoryUrl: 'https://127.0.0.1:1/dir', contact: [], termsOfServiceAgreed: true, challenge: 'http-01' }, deps);
    const { csrPem, spkiDer, keyType } = await newKeyAndCsr('EC_P256', 'down.example.test', ['down.example.test']);
    const started = Date.now();
    const err = await down.issue({ csrPem, spkiDer, keyType, commonName: 'down.example.test', subjectAlternativeNames: ['down.example.test'], validityDays: 90, profile: 'tls-server', idempotencyKey: 'req-down' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toBe('issuer pebble-down: could not reach the CA (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1)');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
