import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRevocationFetcher } from '../../adapters/revocation/http-revocation-fetcher.ts';
import { RevocationChecker } from '../../shared/revocation/revocation-checker.ts';
import { colonHex } from '../../shared/x509/certificate-record.ts';
import { ocspRequestDer } from '../../shared/x509/ocsp-request.ts';
import { parseOcspResponse } from '../../shared/x509/ocsp-response.ts';
import { ocspStatus } from '../../shared/x509/ocsp-status.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { opensslCa } from '../support/openssl-ca.ts';
import { makeCert, type TestCert } from '../support/pki.ts';
import { freePort } from '../support/ports.ts';
import { openssl } from '../support/processes.ts';

const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
const REVOKED_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);

/** Real OCSP: `openssl ocsp` answering from an index, signing as the CA, as a delegated responder, and as responders it must not trust. */
describe('OCSP against openssl ocsp (RFC 6960)', () => {
  let ca: TestCert;
  let good: ParsedCertificate;
  let revoked: ParsedCertificate;
  let unlisted: ParsedCertificate;
  let issuer: ParsedCertificate;
  let pki: Awaited<ReturnType<typeof opensslCa>>;
  const responders: Record<'byCa' | 'delegated' | 'noEku' | 'otherCa', string> = {} as never;
  const fetcher = httpRevocationFetcher({ timeoutMs: 3000, maxCrlBytes: 1 << 20, maxOcspBytes: 1 << 16 });
  const parsed = (c: TestCert) => parseCertificate(c.der);

  /** What `url` says of `cert`, validated as of `at` (the nonce sent is the one checked unless `expectNonce` says otherwise). */
  const ask = async (url: string, cert: ParsedCertificate, opts: { about?: ParsedCertificate; at?: Date; expectNonce?: Uint8Array; tamper?: boolean } = {}) => {
    const nonce = Buffer.from('0123456789abcdef');
    const der = Buffer.from(await fetcher.ocsp(url, ocspRequestDer(cert, issuer, nonce)));
    if (opts.tamper) {
      // One digit of producedAt changed: the signed data still reads, but is not what was signed.
      const tbs = parseOcspResponse(der).basic!.tbsResponseData;
      const producedAt = der.indexOf(Buffer.from([0x18, 0x0f]), tbs.byteOffset - der.byteOffset);
      der[producedAt + 15] ^= 0x01;
    }
    return ocspStatus({ response: parseOcspResponse(der), certificate: opts.about ?? cert, issuer, at: opts.at ?? new Date(), nonce: opts.expectNonce ?? nonce });
  };

  beforeAll(async () => {
    const root = await makeCert({ subject: 'CN=OCSP Test Root', ca: true });
    ca = await makeCert({ subject: 'CN=OCSP Test CA', ca: true, issuer: root });
    const other = await makeCert({ subject: 'CN=OCSP Other CA', ca: true, issuer: root });
    const leaf = (serialNumber: string) => makeCert({ subject: `CN=leaf-${serialNumber}.example.com`, sans: [`leaf-${serialNumber}.example.com`], issuer: ca, serialNumber });
    const [goodCert, revokedCert, unlistedCert] = await Promise.all([leaf('1001'), leaf('1002'), leaf('1003')]);
    const delegate = await makeCert({ subject: 'CN=OCSP Test Responder', issuer: ca, eku: [OCSP_SIGNING] });
    const noEku = await makeCert({ subject: 'CN=OCSP Responder Without EKU', issuer: ca });
    const otherCaDelegate = await makeCert({ subject: 'CN=OCSP Responder Of Another CA', issuer: other, eku: [OCSP_SIGNING] });
    [good, revoked, unlisted, issuer] = [goodCert, revokedCert, unlistedCert, ca].map(parsed);
    pki = await opensslCa(ca, [{ cert: goodCert }, { cert: revokedCert, revoked: { at: REVOKED_AT, reason: 'keyCompromise' } }]);
    const [p1, p2, p3, p4] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    responders.byCa = await pki.ocspResponder(p1, ca, 'ca');
    responders.delegated = await pki.ocspResponder(p2, delegate, 'delegate');
    responders.noEku = await pki.ocspResponder(p3, noEku, 'no-eku');
    responders.otherCa = await pki.ocspResponder(p4, otherCaDelegate, 'other-ca');
  });
  afterAll(() => pki?.close());

  it('RFC 6960 4.1.1: the request is byte for byte the one openssl ocsp sends (SHA-1 CertID, issuer name and key hashes, serial)', () => {
    openssl(['ocsp', '-issuer', join(pki.dir, 'ca.pem'), '-serial', '0x1001', '-no_nonce', '-reqout', join(pki.dir, 'req.der')]);
    expect(ocspRequestDer(good, issuer).toString('hex')).toBe(readFileSync(join(pki.dir, 'req.der')).toString('hex'));
  });

  it('RFC 6960 4.2.1: a response signed by the issuer says good, revoked with time and reason, or unknown for a serial it never issued', async () => {
    expect(await ask(responders.byCa, good)).toMatchObject({ status: 'good', source: 'ocsp' });
    expect(await ask(responders.byCa, revoked)).toEqual({ status: 'revoked', source: 'ocsp', revokedAt: REVOKED_AT.toISOString(), reason: 'keyCompromise' });
    expect(await ask(responders.byCa, unlisted)).toMatchObject({ status: 'unknown', why: expect.stringMatching(/does not know the certificate/) });
  });

  it('RFC 6960 4.2.2.2: a delegated responder the issuer certified with id-kp-OCSPSigning is believed', async () => {
    expect(await ask(responders.delegated, revoked)).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    expect(await ask(responders.delegated, good)).toMatchObject({ status: 'good' });
  });

  it('RFC 6960 4.2.2.2: a responder certificate without id-kp-OCSPSigning is refused: its good is not believed', async () => {
    const status = await ask(responders.noEku, good);
    expect(status).toMatchObject({ status: 'unknown', why: expect.stringMatching(/lacks the id-kp-OCSPSigning/) });
  });

  it("RFC 6960 4.2.2.2: an OCSPSigning responder of another CA is refused for this CA's certificates", async () => {
    expect(await ask(responders.otherCa, good)).toMatchObject({ status: 'unknown', why: expect.stringMatching(/not issued by CN=OCSP Test CA/) });
  });

  it('RFC 6960 3.2 (1): a response about a different serial is refused, whatever it says', async () => {
    const status = await ask(responders.byCa, revoked, { about: good });
    expect(status).toMatchObject({ status: 'unknown', why: expect.stringContaining(`about serial 10:02, not serial ${colonHex(good.serialHex)}`) });
  });

  it('RFC 6960 3.2 (2): a response whose signature does not verify is refused', async () => {
    expect(await ask(responders.byCa, good, { tamper: true })).toMatchObject({ status: 'unknown', why: expect.stringMatching(/signature does not verify/) });
  });

  it('RFC 8954: a response whose nonce is not the request\'s is refused (a replayed answer)', async () => {
    expect(await ask(responders.byCa, good, { expectNonce: Buffer.from('another nonce!!!') })).toMatchObject({ status: 'unknown', why: expect.stringMatching(/nonce/) });
  });

  it('RFC 6960 3.2 (4), (5): a response past its nextUpdate, or dated after the time of the check, is unknown, not good', async () => {
    const stale = await ask(responders.byCa, good, { at: new Date(Date.now() + 10 * 60_000) });
    expect(stale).toMatchObject({ status: 'unknown', why: expect.stringMatching(/stale/) });
    const early = await ask(responders.byCa, good, { at: new Date(Date.now() - 60 * 60_000) });
    expect(early).toMatchObject({ status: 'unknown', why: expect.stringMatching(/dated in the future/) });
  });

  it('an unreachable OCSP responder gives unknown with the reason, never good', async () => {
    const port = await freePort();
    const cert = parsed(await makeCert({ subject: 'CN=unreachable.example.com', issuer: ca, ocspUrl: `http://127.0.0.1:${port}/` }));
    const checker = new RevocationChecker({ fetcher, newNonce: () => Buffer.alloc(16, 7) });
    const status = await checker.status(cert, issuer, new Date());
    expect(status).toMatchObject({ status: 'unknown', why: expect.stringMatching(new RegExp(`OCSP http://127.0.0.1:${port}/: .*could not be reached: ECONNREFUSED`)) });
  });

  it('the checker asks the responder a certificate names and reports where the answer came from', async () => {
    const named = await makeCert({ subject: 'CN=named.example.com', issuer: ca, serialNumber: '1002', ocspUrl: responders.delegated });
    writeFileSync(join(pki.dir, 'named.pem'), named.pem);
    const checker = new RevocationChecker({ fetcher, newNonce: () => Buffer.alloc(16, 7) });
    expect(await checker.status(parsed(named), issuer, new Date())).toEqual({ status: 'revoked', source: 'ocsp', url: responders.delegated, revokedAt: REVOKED_AT.toISOString(), reason: 'keyCompromise' });
  });
});
