import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colonHex } from '../../shared/x509/certificate-record.ts';
import { oid, seq, set, tlv, utf8 } from '../../shared/x509/der-encode.ts';
import { cli } from '../support/cli.ts';
import { opensslCa, startFileServer } from '../support/openssl-ca.ts';
import { makeCert, type TestCert } from '../support/pki.ts';
import { freePort } from '../support/ports.ts';
import { x509 } from '../support/x509-library.ts';

const REVOKED_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

// cRLDistributionPoints (RFC 5280 4.2.1.13) by hand: the library writes only fullName URIs.
const uri = (u: string) => tlv(0x86, Buffer.from(u));
const directoryName = (dn: string) => tlv(0xa4, new Uint8Array(new x509.Name(dn).toArrayBuffer()));
const fullName = (...names: Uint8Array[]) => tlv(0xa0, tlv(0xa0, ...names));
/** ReasonFlags, [1] IMPLICIT BIT STRING: the unused-bit count, then bit 1 keyCompromise ... bit 8 aACompromise. */
const KEY_COMPROMISE_ONLY = tlv(0x81, Buffer.from([0x06, 0x40]));
const ALL_BUT_KEY_COMPROMISE = tlv(0x81, Buffer.from([0x07, 0x3f, 0x80]));
const distributionPoints = (...points: Uint8Array[][]) => [new x509.Extension('2.5.29.31', false, Uint8Array.from(seq(...points.map((parts) => seq(...parts)))))];

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
    const leaf = (name: string, serialNumber: string, pointers: { ocspUrl?: string; crlUrl?: string; extensions?: x509.Extension[] }) =>
      makeCert({ subject: `CN=${name}`, sans: [name], eku: ['1.3.6.1.5.5.7.3.1'], issuer: ca, serialNumber, ...pointers });
    const keyCompromiseCrl = [fullName(uri(`${crlServer.url}/key-compromise.crl`)), KEY_COMPROMISE_ONLY];
    const otherReasonsCrl = [fullName(uri(`${crlServer.url}/other-reasons.crl`)), ALL_BUT_KEY_COMPROMISE];
    const leaves: Record<string, TestCert> = {
      good: await leaf('good.example.com', '3001', { ocspUrl, crlUrl }),
      revokedOcsp: await leaf('revoked.example.com', '3002', { ocspUrl }),
      revokedCrl: await leaf('crl-revoked.example.com', '3003', { crlUrl }),
      unreachable: await leaf('unreachable.example.com', '3004', { crlUrl: `http://127.0.0.1:${await freePort()}/gone.crl` }),
      revokedOnSecondPoint: await leaf('second-point.example.com', '3005', { extensions: distributionPoints(keyCompromiseCrl, otherReasonsCrl) }),
      someReasonsOnly: await leaf('some-reasons.example.com', '3006', { extensions: distributionPoints(keyCompromiseCrl) }),
      allReasons: await leaf('all-reasons.example.com', '3007', { extensions: distributionPoints(keyCompromiseCrl, otherReasonsCrl) }),
      directoryName: await leaf('dirname.example.com', '3008', { extensions: distributionPoints([fullName(directoryName('CN=CRL1, O=Example'))]) }),
      relativeName: await leaf('relative.example.com', '3009', { extensions: distributionPoints([tlv(0xa0, tlv(0xa1, set(seq(oid('2.5.4.3'), utf8('CRL1')))))]) }),
      crlIssuerOnly: await leaf('crlissuer.example.com', '300a', { extensions: distributionPoints([tlv(0xa2, directoryName(ca.cert.subject))]) }),
      indirect: await leaf('indirect.example.com', '300b', { extensions: distributionPoints([fullName(uri(crlUrl)), tlv(0xa2, directoryName('CN=Another CRL Issuer'))]) }),
    };
    pki = await opensslCa(ca, [{ cert: leaves.good }, { cert: leaves.revokedOcsp, revoked: { at: REVOKED_AT, reason: 'keyCompromise' } }]);
    await pki.ocspResponder(ocspPort, await makeCert({ subject: 'CN=Verify Revocation Responder', issuer: ca, eku: ['1.3.6.1.5.5.7.3.9'] }), 'responder');
    const signedCrl = async (entries: x509.X509CrlEntryParams[]) => new Uint8Array((await x509.X509CrlGenerator.create({
      issuer: ca.cert.subject, nextUpdate: new Date(Date.now() + 86_400_000), signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, signingKey: ca.keys.privateKey, entries,
    })).rawData);
    bodies.set('/ca.crl', await signedCrl([{ serialNumber: '3003', revocationDate: REVOKED_AT, reason: x509.X509CrlReason.cessationOfOperation }]));
    bodies.set('/key-compromise.crl', await signedCrl([]));
    bodies.set('/other-reasons.crl', await signedCrl([{ serialNumber: '3005', revocationDate: REVOKED_AT, reason: x509.X509CrlReason.superseded }]));
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

  it('RFC 5280 6.3.3 (d), (i): a distribution point for some reasons cannot say good alone; the next one is asked, and its CRL listing the leaf makes it revoked', async () => {
    const run = await cli(['verify', chains.revokedOnSecondPoint, ...roots, '--check-revocation']);
    expect(run.code, run.stdout).toBe(1);
    expect(run.stdout).toMatch(/^invalid\n/);
    expect(run.stdout).toContain(`  - the leaf (CN=second-point.example.com) (serial 30:05) is revoked: revoked on ${REVOKED_AT.toISOString()} (superseded), says the CRL ${crlServer.url}/other-reasons.crl`);
  });

  it('RFC 5280 6.3.3 (i): not listed on CRLs that cover only some reasons is unknown (exit 1); once they cover every reason between them it is good (exit 0)', async () => {
    const partial = await cli(['verify', chains.someReasonsOnly, ...roots, '--check-revocation']);
    expect(partial.code, partial.stdout).toBe(1);
    expect(partial.stdout).toContain(`  - revocation unknown for the leaf (CN=some-reasons.example.com) (serial 30:06): revocation could not be determined: the CRL not listing the certificate (${crlServer.url}/key-compromise.crl) covers only revocations for keyCompromise: none says whether it was revoked for cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise (RFC 5280 6.3.3 (d), (i))`);
    const covered = await cli(['verify', chains.allReasons, ...roots, '--check-revocation', '--json']);
    expect(covered.code, covered.stdout).toBe(0);
    const verdict = JSON.parse(covered.stdout);
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    expect(verdict.path[0].revocation).toMatchObject({ status: 'good', source: 'crl', url: `${crlServer.url}/key-compromise.crl, ${crlServer.url}/other-reasons.crl` });
  });

  it('a distribution point certops cannot fetch (a directoryName, a nameRelativeToCRLIssuer) makes the status unknown and the chain invalid, as ldap: does, not "not checked"', async () => {
    const cases: [string, string][] = [
      [chains.directoryName, 'the leaf (CN=dirname.example.com) (serial 30:08): revocation could not be determined: its CRL distribution point is one certops does not fetch (the directoryName CN=CRL1, O=Example)'],
      [chains.relativeName, 'the leaf (CN=relative.example.com) (serial 30:09): revocation could not be determined: its CRL distribution point is one certops does not fetch (a nameRelativeToCRLIssuer)'],
    ];
    for (const [chain, reason] of cases) {
      const run = await cli(['verify', chain, ...roots, '--check-revocation']);
      expect(run.code, run.stdout).toBe(1);
      expect(run.stdout).toContain(`  - revocation unknown for ${reason}\n`);
      expect(run.stdout).toMatch(/\n  0: CN=\S+ .*\n     revocation: unknown: its CRL distribution point is one certops does not fetch \(/);
    }
  });

  it('RFC 5280 4.2.1.13, 5.2.5: a distribution point naming a cRLIssuer (an indirect CRL, which certops does not process) is unknown, never good, even beside a URL whose CRL does not list the leaf', async () => {
    const cases: [string, string][] = [
      [chains.crlIssuerOnly, 'the leaf (CN=crlissuer.example.com) (serial 30:0A): revocation could not be determined: its CRL distribution point names a cRLIssuer: its CRL is an indirect CRL, which certops does not process (RFC 5280 4.2.1.13, 5.2.5)'],
      [chains.indirect, `the leaf (CN=indirect.example.com) (serial 30:0B): revocation could not be determined: its CRL distribution point (${crlServer.url}/ca.crl) names a cRLIssuer: its CRL is an indirect CRL, which certops does not process (RFC 5280 4.2.1.13, 5.2.5)`],
    ];
    for (const [chain, reason] of cases) {
      const run = await cli(['verify', chain, ...roots, '--check-revocation']);
      expect(run.code, run.stdout).toBe(1);
      expect(run.stdout).toContain(`  - revocation unknown for ${reason}\n`);
    }
  });

  it('a misused flag is one line on stderr and exit 2', async () => {
    const bad = await cli(['verify', chains.good, '--check-revocation=yes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^certops: .*--check-revocation.*\n$/);
  });
});
