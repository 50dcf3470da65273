import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateId } from '../shared/x509/certificate-record.ts';
import { parseCrl } from '../shared/x509/crl.ts';
import { crlStatus } from '../shared/x509/crl-status.ts';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';
import { apiCall } from './support/api.ts';
import { cli } from './support/cli.ts';
import { opensslCa } from './support/openssl-ca.ts';
import { makeCert, type TestCert } from './support/pki.ts';
import { freePort } from './support/ports.ts';
import { eventually, startStack, type RunningStack } from './support/processes.ts';

const REVOKED_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

/** A TLS server on loopback sending `chainPem` with `keyPem`. */
async function serveTls(chainPem: string, keyPem: string): Promise<{ port: number; server: Server }> {
  const server = createServer({ cert: chainPem, key: keyPem }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, server };
}

/**
 * Revocation through the running local stack: the built-in CA's real CRL after a revocation made
 * over the API, `certops verify --check-revocation` against it, and scans that record each served
 * certificate's status (from the built-in CA's CRL and from an openssl OCSP responder).
 */
describe('revocation through the local stack', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-revocation-'));
  let stack: RunningStack;
  let token: string;
  let pki: Awaited<ReturnType<typeof opensslCa>>;
  const servers: Server[] = [];
  const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, token, method, path, body);
  const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const issued: Record<'kept' | 'revoked', { id: string; pem: string; keyPem: string; revokedAt?: string }> = {} as never;
  let chainPem: string;
  const discovered: Record<'revoked' | 'good' | 'unreachable', TestCert> = {} as never;
  let ca: TestCert;

  beforeAll(async () => {
    stack = await startStack(home, { CERTOPS_SCAN_TIMEOUT_MS: '2000' });
    token = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const name of ['kept', 'revoked'] as const) {
      const { body } = await api('POST', '/certificates', { commonName: `${name}.example.com`, subjectAlternativeNames: [`${name}.example.com`, 'localhost'], returnPrivateKey: true });
      const cert = (await api('GET', `/certificates/${body.certificateId}`)).body;
      issued[name] = { id: body.certificateId, pem: cert.certificatePem, keyPem: body.privateKeyPem };
      chainPem = cert.chainPem;
    }
    const revoked = await api('POST', `/certificates/${issued.revoked.id}/revoke`, { reason: 'keyCompromise' });
    expect(revoked.status).toBe(200);
    issued.revoked.revokedAt = revoked.body.revokedAt;

    // A PKI certops did not issue, with an OCSP responder (openssl ocsp) and one leaf whose CRL cannot be fetched.
    const ocspPort = await freePort();
    const root = await makeCert({ subject: 'CN=Discovered Root', ca: true });
    ca = await makeCert({ subject: 'CN=Discovered CA', ca: true, issuer: root });
    const leaf = (serialNumber: string, pointers: { ocspUrl?: string; crlUrl?: string }) => makeCert({ subject: 'CN=localhost', sans: ['localhost'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: ca, serialNumber, ...pointers });
    discovered.revoked = await leaf('4002', { ocspUrl: `http://127.0.0.1:${ocspPort}/` });
    discovered.good = await leaf('4001', { ocspUrl: `http://127.0.0.1:${ocspPort}/` });
    discovered.unreachable = await leaf('4003', { crlUrl: `http://127.0.0.1:${await freePort()}/ca.crl` });
    pki = await opensslCa(ca, [{ cert: discovered.good }, { cert: discovered.revoked, revoked: { at: REVOKED_AT, reason: 'keyCompromise' } }]);
    await pki.ocspResponder(ocspPort, ca, 'ca');
  }, 120_000);
  afterAll(async () => {
    pki?.close();
    for (const s of servers) s.close();
    expect(await stack?.stop()).toBe(0);
  });

  it("RFC 5280 6.3.3: the built-in CA's CRL, after a revocation through the API, says revoked (time and reason) for that certificate and good for another", async () => {
    const crl = parseCrl(new Uint8Array(await (await fetch(`${stack.url}/crl/local.crl`)).arrayBuffer()));
    const intermediate = parseCertificate(certificateBlocks(chainPem, 'chain')[0]);
    const status = (pem: string) => crlStatus({ crl, certificate: parseCertificate(certificateBlocks(pem, 'pem')[0]), issuer: intermediate, distributionPoint: `${stack.url}/crl/local.crl`, at: new Date() });
    const revokedAt = new Date(Math.floor(Date.parse(issued.revoked.revokedAt!) / 1000) * 1000).toISOString();
    expect(status(issued.revoked.pem)).toEqual({ status: 'revoked', source: 'crl', revokedAt, reason: 'keyCompromise' });
    expect(status(issued.kept.pem)).toMatchObject({ status: 'good', source: 'crl' });
  });

  it('certops verify --check-revocation fetches that CRL: the revoked certificate is invalid (exit 1), the other valid (exit 0)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-verify-local-'));
    for (const name of ['kept', 'revoked'] as const) writeFileSync(join(dir, `${name}.pem`), issued[name].pem + chainPem);
    const roots = ['--roots', join(home, 'ca', 'root.pem')];
    const revoked = await cli(['verify', join(dir, 'revoked.pem'), ...roots, '--check-revocation']);
    expect(revoked.code).toBe(1);
    const serial = (await api('GET', `/certificates/${issued.revoked.id}`)).body.serialNumber;
    expect(revoked.stdout).toContain(`the leaf (CN=revoked.example.com) (serial ${serial}) is revoked: revoked on `);
    expect(revoked.stdout).toContain(`(keyCompromise), says the CRL ${stack.url}/crl/local.crl`);
    const kept = await cli(['verify', join(dir, 'kept.pem'), ...roots, '--check-revocation', '--json']);
    expect(kept.code, kept.stdout).toBe(0);
    expect(JSON.parse(kept.stdout).path.map((p: any) => p.revocation.status)).toEqual(['good', 'not-checked', 'not-checked']);
  });

  it('a scan records each served certificate\'s revocation status; a revoked one gets a high finding, in the API, the scan report, the SIEM and certops show', async () => {
    const serve = async (chain: string, keyPem: string) => {
      const { port, server } = await serveTls(chain, keyPem);
      servers.push(server);
      return port;
    };
    const ports = {
      issuedRevoked: await serve(issued.revoked.pem + chainPem, issued.revoked.keyPem),
      revoked: await serve(discovered.revoked.pem + ca.pem, await discovered.revoked.keyPem()),
      good: await serve(discovered.good.pem + ca.pem, await discovered.good.keyPem()),
      unreachable: await serve(discovered.unreachable.pem + ca.pem, await discovered.unreachable.keyPem()),
      noIssuer: await serve(discovered.good.pem, await discovered.good.keyPem()),
    };
    const run = await cli(['scan', ...Object.values(ports).map((p) => `localhost:${p}`), '--endpoint', stack.url, '--json'], { CERTOPS_HOME: home });
    expect(run.code, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout);
    const at = (port: number) => scan.endpoints.find((e: any) => e.port === port);
    expect(at(ports.issuedRevoked).revocation).toMatchObject({ status: 'revoked', source: 'crl', reason: 'keyCompromise', url: `${stack.url}/crl/local.crl` });
    expect(at(ports.revoked).revocation).toMatchObject({ status: 'revoked', source: 'ocsp', reason: 'keyCompromise', revokedAt: REVOKED_AT.toISOString() });
    expect(at(ports.revoked).certificateFindings).toContainEqual(expect.objectContaining({ id: 'revoked', severity: 'high' }));
    expect(at(ports.good).revocation).toMatchObject({ status: 'good', source: 'ocsp' });
    expect(at(ports.unreachable).revocation).toMatchObject({ status: 'unknown', why: expect.stringMatching(/ECONNREFUSED/) });
    expect(at(ports.noIssuer).revocation).toMatchObject({ status: 'not-checked', why: expect.stringMatching(/sent no certificate that issued it/) });

    const revoked = (await api('GET', `/certificates/${certificateId(discovered.revoked.der)}`)).body;
    expect(revoked.revocation).toMatchObject({ status: 'revoked', source: 'ocsp', reason: 'keyCompromise', checkedAt: expect.any(String) });
    expect(revoked.findings).toContainEqual(expect.objectContaining({ id: 'revoked', severity: 'high' }));
    const unreachable = (await api('GET', `/certificates/${certificateId(discovered.unreachable.der)}`)).body;
    expect(unreachable.revocation.status).toBe('unknown');
    expect(unreachable.findings.map((f: any) => f.id)).not.toContain('revoked');
    // certops' own revocation shows as such, from its records.
    const own = (await api('GET', `/certificates/${issued.revoked.id}`)).body;
    expect(own.revocation).toMatchObject({ status: 'revoked', source: 'certops', reason: 'keyCompromise' });
    expect(own.findings).toContainEqual(expect.objectContaining({ id: 'revoked', severity: 'high' }));

    const show = await cli(['show', certificateId(discovered.revoked.der), '--endpoint', stack.url], { CERTOPS_HOME: home });
    expect(show.stdout, show.stderr).toContain(`  revocation:  revoked on ${REVOKED_AT.toISOString()} (keyCompromise; OCSP http://127.0.0.1:`);
    await eventually(async () => siem().some((e) => e.event_type === 'finding.raised' && e.certificateId === certificateId(discovered.revoked.der) && e.findingId === 'revoked') || undefined, 'finding.raised for the revoked certificate');
  });
});
