import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colonHex } from '../../shared/x509/certificate-record.ts';
import { cli } from '../support/cli.ts';
import { opensslCa, startFileServer } from '../support/openssl-ca.ts';
import { makeCert, type TestCert } from '../support/pki.ts';
import { freePort } from '../support/ports.ts';
import { x509 } from '../support/x509-library.ts';

const REVOKED_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

/** `certops verify --check-revocation` against a real OCSP responder (openssl ocsp) and a CRL served over HTTP. */
describe('certops verify --check-revocation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certops-verify-revocation-'));
  const bodies = new Map<string, Uint8Array>();
  let crlServer: Awaited<ReturnType<typeof startFileServer>>;
  let pki: Awaited<ReturnType<typeof opensslCa>>;
  const chains: Record<string, string> = {};
  let roots: string[];

  beforeAll(async () => {
    crlServer = await startFileServer(bodies);
    const ocspPort = await freePort();
    const ocspUrl = `http://127.0.0.1:${ocspPort}/`;
    const crlUrl = `${crlServer.url}/ca.crl`;
    const root = await makeCert({ subject: 'CN=Verify Revocation Root', ca: true });
    const ca = await makeCert({ subject: 'CN=Verify Revocation CA', ca: true, issuer: root });
    const leaf = (name: string, serialNumber: string, pointers: { ocspUrl?: string; crlUrl?: string }) =>
      makeCert({ subject: `CN=${name}`, sans: [name], eku: ['1.3.6.1.5.5.7.3.1'], issuer: ca, serialNumber, ...pointers });
    const leaves: Record<string, TestCert> = {
      good: await leaf('good.example.com', '3001', { ocspUrl, crlUrl }),
      revokedOcsp: await leaf('revoked.example.com', '3002', { ocspUrl }),
      revokedCrl: await leaf('crl-revoked.example.com', '3003', { crlUrl }),
      unreachable: await leaf('unreachable.example.com', '3004', { crlUrl: `http://127.0.0.1:${await freePort()}/gone.crl` }),
    };
    pki = await opensslCa(ca, [{ cert: leaves.good }, { cert: leaves.revokedOcsp, revoked: { at: REVOKED_AT, reason: 'keyCompromise' } }]);
    await pki.ocspResponder(ocspPort, await makeCert({ subject: 'CN=Verify Revocation Responder', issuer: ca, eku: ['1.3.6.1.5.5.7.3.9'] }), 'responder');
    const crl = await x509.X509CrlGenerator.create({
      issuer: ca.cert.subject, nextUpdate: new Date(Date.now() + 86_400_000), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, signingKey: ca.keys.privateKey,
      entries: [{ serialNumber: '3003', revocationDate: REVOKED_AT, reason: x509.X509CrlReason.cessationOfOperation }],
    });
    bodies.set('/ca.crl', new Uint8Array(crl.rawData));
    for (const [name, cert] of Object.entries(leaves)) {
      chains[name] = join(dir, `${name}.pem`);
      writeFileSync(chains[name], cert.pem + ca.pem);
    }
    writeFileSync(join(dir, 'root.pem'), root.pem);
    roots = ['--roots', join(dir, 'root.pem')];
  });
  afterAll(async () => {
    pki?.close();
    await crlServer?.close();
  });

  it('a good certificate is valid and each certificate shows its revocation status (exit 0)', async () => {
    const run = await cli(['verify', chains.good, ...roots, '--check-revocation', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const verdict = JSON.parse(run.stdout);
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    expect(verdict.path.map((p: any) => p.revocation.status)).toEqual(['good', 'not-checked', 'not-checked']);
    expect(verdict.path[0].revocation).toMatchObject({ source: 'ocsp', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) });
    const human = await cli(['verify', chains.good, ...roots, '--check-revocation']);
    expect(human.stdout).toMatch(/^valid\n  0: CN=good\.example\.com .*\n     revocation: good \(OCSP http:/);
    expect(human.stdout).toMatch(/2: CN=Verify Revocation Root .*\n     revocation: not checked: a trust anchor/);
  });

  it('RFC 6960: a certificate the OCSP responder says is revoked is invalid, named with serial, time and reason (exit 1); without the flag it is not checked', async () => {
    const run = await cli(['verify', chains.revokedOcsp, ...roots, '--check-revocation']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`  - the leaf (CN=revoked.example.com) (serial ${colonHex('3002')}) is revoked: revoked on ${REVOKED_AT.toISOString()} (keyCompromise), says the OCSP responder`);
    expect((await cli(['verify', chains.revokedOcsp, ...roots])).code).toBe(0);
  });

  it('RFC 5280: a certificate its CRL lists is invalid (exit 1), with the reason from the CRL entry', async () => {
    const run = await cli(['verify', chains.revokedCrl, ...roots, '--check-revocation', '--json']);
    expect(run.code).toBe(1);
    const verdict = JSON.parse(run.stdout);
    expect(verdict.valid).toBe(false);
    expect(verdict.path[0].revocation).toEqual({ status: 'revoked', source: 'crl', url: `${crlServer.url}/ca.crl`, revokedAt: REVOKED_AT.toISOString(), reason: 'cessationOfOperation' });
  });

  it('an unreachable CRL makes the status unknown and the chain invalid: revocation could not be determined, never good (exit 1)', async () => {
    const run = await cli(['verify', chains.unreachable, ...roots, '--check-revocation']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/revocation unknown for the leaf \(CN=unreachable\.example\.com\) \(serial 30:04\): revocation could not be determined: CRL http:\/\/127\.0\.0\.1:\d+\/gone\.crl: .*ECONNREFUSED/);
    expect(run.stdout).toMatch(/revocation: unknown: /);
  });

  it('a misused flag is one line on stderr and exit 2', async () => {
    const bad = await cli(['verify', chains.good, '--check-revocation=yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^certops: .*--check-revocation.*\n$/);
  });
});
