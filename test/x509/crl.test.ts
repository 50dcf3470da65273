import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpRevocationFetcher } from '../../adapters/revocation/http-revocation-fetcher.ts';
import { RevocationChecker } from '../../shared/revocation/revocation-checker.ts';
import { parseCrl } from '../../shared/x509/crl.ts';
import { bits, ecdsaDerSignature, oid, seq } from '../../shared/x509/der-encode.ts';
import { crlStatus } from '../../shared/x509/crl-status.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { opensslCa, startFileServer } from '../support/openssl-ca.ts';
import { makeCert, type TestCert } from '../support/pki.ts';
import { freePort } from '../support/ports.ts';
import { x509 } from '../support/x509-library.ts';

const DAY = 86_400_000;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;
const REVOKED_AT = new Date(Math.floor(Date.now() / 1000) * 1000 - DAY);
const DP = 'http://crl.example.test/ca.crl';

/** DER by hand for the few CRL extensions @peculiar/x509 has no class for. */
const der = (tag: number, ...content: Uint8Array[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag, body.length]), body]);
};
const uri = (u: string) => der(0x86, Buffer.from(u));
/** issuingDistributionPoint (RFC 5280 5.2.5) with a fullName URI and/or the [n] BOOLEAN flags set. */
const idp = (opts: { uri?: string; flags?: number[]; reasons?: number }) => new x509.Extension('2.5.29.28', true, der(0x30,
  ...(opts.uri ? [der(0xa0, der(0xa0, uri(opts.uri)))] : []),
  ...(opts.flags ?? []).map((n) => der(0x80 + n, Buffer.from([0xff]))),
  ...(opts.reasons !== undefined ? [der(0x83, Buffer.from([0x01, opts.reasons]))] : []),
));

/** CRLs are written with @peculiar/x509, an encoder independent of certops' own, and with openssl ca. */
describe('CRLs (RFC 5280 5, 6.3.3)', () => {
  let ca: TestCert;
  let issuer: ParsedCertificate;
  let good: ParsedCertificate;
  let revoked: ParsedCertificate;
  let caNoCrlSign: TestCert;

  const crl = async (opts: { signer?: TestCert; issuerName?: string; thisUpdate?: Date; nextUpdate?: Date | null; entries?: x509.X509CrlEntryParams[]; extensions?: x509.Extension[] } = {}) => {
    const signer = opts.signer ?? ca;
    const made = await x509.X509CrlGenerator.create({
      issuer: opts.issuerName ?? signer.cert.subject,
      thisUpdate: opts.thisUpdate ?? new Date(Date.now() - 60_000),
      ...(opts.nextUpdate === null ? {} : { nextUpdate: opts.nextUpdate ?? new Date(Date.now() + DAY) }),
      entries: opts.entries ?? [{ serialNumber: '2002', revocationDate: REVOKED_AT, reason: x509.X509CrlReason.keyCompromise }],
      extensions: opts.extensions,
      signingAlgorithm: SIGN,
      signingKey: signer.keys.privateKey,
    });
    return new Uint8Array(made.rawData);
  };
  const statusOf = async (certificate: ParsedCertificate, crlDer: Uint8Array, at = new Date(), by = issuer) => crlStatus({ crl: parseCrl(crlDer), certificate, issuer: by, distributionPoint: DP, at });

  beforeAll(async () => {
    const root = await makeCert({ subject: 'CN=CRL Test Root', ca: true });
    ca = await makeCert({ subject: 'CN=CRL Test CA', ca: true, issuer: root });
    caNoCrlSign = await makeCert({ subject: 'CN=CRL Test CA', ca: true, issuer: root, keys: ca.keys, keyUsage: x509.KeyUsageFlags.keyCertSign });
    issuer = parseCertificate(ca.der);
    const leaf = async (serialNumber: string) => parseCertificate((await makeCert({ subject: `CN=leaf-${serialNumber}.example.com`, issuer: ca, serialNumber, crlUrl: DP })).der);
    [good, revoked] = await Promise.all([leaf('2001'), leaf('2002')]);
  });

  it('RFC 5280 6.3.3: a current CRL signed by the issuer says revoked (with date and reason) for a listed serial, good for another', async () => {
    const list = await crl();
    expect(await statusOf(revoked, list)).toEqual({ status: 'revoked', source: 'crl', revokedAt: REVOKED_AT.toISOString(), reason: 'keyCompromise' });
    expect(await statusOf(good, list)).toMatchObject({ status: 'good', source: 'crl' });
  });

  it('RFC 5280 5.1: reads the CRL openssl ca writes (v2, CRL number, reason codes)', async () => {
    const goodCert = await makeCert({ subject: 'CN=a.example.com', issuer: ca, serialNumber: '2101' });
    const revokedCert = await makeCert({ subject: 'CN=b.example.com', issuer: ca, serialNumber: '2102' });
    const pki = await opensslCa(ca, [{ cert: goodCert }, { cert: revokedCert, revoked: { at: REVOKED_AT, reason: 'superseded' } }]);
    const list = parseCrl(pki.crl());
    expect(list).toMatchObject({ version: 2, crlNumber: '1000', signatureAlgorithm: 'ecdsa-with-SHA256', issuer: 'CN=CRL Test CA' });
    expect(crlStatus({ crl: list, certificate: parseCertificate(revokedCert.der), issuer, distributionPoint: DP, at: new Date() })).toMatchObject({ status: 'revoked', reason: 'superseded', revokedAt: REVOKED_AT.toISOString() });
    expect(crlStatus({ crl: list, certificate: parseCertificate(goodCert.der), issuer, distributionPoint: DP, at: new Date() })).toMatchObject({ status: 'good' });
  });

  it('RFC 5280 6.3.3 (g): a CRL under the issuer\'s name signed by another key is not trusted, even for a listed serial', async () => {
    const impostor = await makeCert({ subject: 'CN=CRL Test CA', ca: true });
    const forged = await crl({ signer: impostor, issuerName: 'CN=CRL Test CA' });
    expect(await statusOf(revoked, forged)).toMatchObject({ status: 'unknown', why: expect.stringMatching(/signature does not verify with the key of CN=CRL Test CA/) });
    expect(await statusOf(good, forged)).toMatchObject({ status: 'unknown' });
  });

  it('RFC 5280 6.3.3 (b)(1): a CRL of another issuer name does not speak for the certificate', async () => {
    const other = await makeCert({ subject: 'CN=Another CA', ca: true });
    expect(await statusOf(good, await crl({ signer: other }))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/issued by CN=Another CA, not by the certificate's issuer/) });
  });

  it('RFC 5280 6.3.3 (f): an issuer whose key usage lacks cRLSign cannot vouch with a CRL', async () => {
    expect(await statusOf(good, await crl(), new Date(), parseCertificate(caNoCrlSign.der))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/lacks cRLSign/) });
  });

  it('RFC 5280 6.3.3 (a): a stale CRL (nextUpdate passed), one dated later than the check, or one without nextUpdate is unknown, not good', async () => {
    const stale = await crl({ thisUpdate: new Date(Date.now() - 8 * DAY), nextUpdate: new Date(Date.now() - DAY) });
    expect(await statusOf(good, stale)).toMatchObject({ status: 'unknown', why: expect.stringMatching(/stale: its nextUpdate .* has passed/) });
    expect(await statusOf(good, await crl(), new Date(Date.now() - DAY))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/dated in the future/) });
    expect(await statusOf(good, await crl({ nextUpdate: null }))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/no nextUpdate/) });
  });

  it('RFC 5280 5.2: a CRL with an unknown critical extension is refused; an unknown non-critical one is ignored', async () => {
    const critical = await crl({ extensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, der(0x05))] });
    expect(() => parseCrl(critical)).toThrow(/1\.3\.6\.1\.4\.1\.99999\.1: is a critical CRL extension certops cannot process/);
    const harmless = await crl({ extensions: [new x509.Extension('1.3.6.1.4.1.99999.1', false, der(0x05))] });
    expect(await statusOf(revoked, harmless)).toMatchObject({ status: 'revoked' });
  });

  it('RFC 5280 5.3: a critical entry extension certops cannot process refuses the whole CRL; an indirect entry (certificateIssuer) too', async () => {
    const entry = (extension: x509.Extension) => crl({ entries: [{ serialNumber: '2002', revocationDate: REVOKED_AT, extensions: [extension] }] });
    expect(() => parseCrl(new Uint8Array(0))).toThrow(/is empty/);
    await expect(entry(new x509.Extension('1.3.6.1.4.1.99999.2', true, der(0x05))).then(parseCrl)).rejects.toThrow(/critical CRL entry extension/);
    await expect(entry(new x509.Extension('2.5.29.29', true, der(0x30, der(0xa4, der(0x30))))).then(parseCrl)).rejects.toThrow(/indirect CRLs are not processed/);
  });

  it('RFC 5280 5.2.4: a delta CRL is refused (certops reads complete CRLs only)', async () => {
    const delta = await crl({ extensions: [new x509.Extension('2.5.29.27', true, der(0x02, Buffer.from([0x05])))] });
    expect(() => parseCrl(delta)).toThrow(/delta CRL/);
  });

  it('RFC 5280 5.2.5: the issuingDistributionPoint decides which certificates and reasons a CRL covers', async () => {
    const withIdp = (ext: x509.Extension) => crl({ extensions: [ext] });
    // Its own distribution point: the CRL covers the certificate.
    expect(await statusOf(revoked, await withIdp(idp({ uri: DP })))).toMatchObject({ status: 'revoked' });
    // Another distribution point's CRL, a CA-only CRL, an attribute-certificate CRL, an indirect CRL: not this certificate's.
    expect(await statusOf(good, await withIdp(idp({ uri: 'http://crl.example.test/other.crl' })))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/for the distribution point http:\/\/crl.example.test\/other.crl/) });
    expect(await statusOf(good, await withIdp(idp({ flags: [2] })))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/CA certificates only/) });
    expect(await statusOf(good, await withIdp(idp({ flags: [5] })))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/attribute certificates only/) });
    expect(await statusOf(good, await withIdp(idp({ flags: [4] })))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/indirect CRL/) });
    // A point named other than by URI cannot be matched to the certificate's, so such a CRL is not shown to be its (6.3.3 (b)(2)(i)).
    const byDirectoryName = new x509.Extension('2.5.29.28', true, der(0x30, der(0xa0, der(0xa0, der(0xa4, new Uint8Array(new x509.Name('CN=CRL1').toArrayBuffer()))))));
    expect(await statusOf(good, await withIdp(byDirectoryName))).toMatchObject({ status: 'unknown', why: expect.stringMatching(/for the distribution point the directoryName CN=CRL1, not the certificate's/) });
    // A user-certificates-only CRL covers a leaf.
    expect(await statusOf(good, await withIdp(idp({ flags: [1] })))).toMatchObject({ status: 'good' });
    // onlySomeReasons (keyCompromise only, bit 1): revoked when listed, never good when not.
    const partial = await withIdp(idp({ reasons: 0x40 }));
    expect(await statusOf(revoked, partial)).toMatchObject({ status: 'revoked' });
    expect(await statusOf(good, partial)).toMatchObject({ status: 'unknown', why: expect.stringMatching(/only revocations for keyCompromise/) });
  });

  it('RFC 5280 4.1.2.2: serials compare exactly, sign included: a negative serial on the CRL does not revoke the positive one with the same bytes', async () => {
    // The library writes serials positive: the entry's INTEGER 7F 01 becomes FF 01 (-255) by hand, and the CRL is signed again.
    const written = Buffer.from(await crl({ entries: [{ serialNumber: '7f01', revocationDate: REVOKED_AT }] }));
    const at = written.indexOf(Buffer.from([0x02, 0x02, 0x7f, 0x01]));
    written[at + 2] = 0xff;
    const tbs = parseCrl(written).tbsDer;
    const signature = new Uint8Array(await webcrypto.subtle.sign(SIGN, ca.keys.privateKey, tbs));
    const negative = seq(tbs, seq(oid('1.2.840.10045.4.3.2')), bits(ecdsaDerSignature(signature)));
    expect([...parseCrl(negative).revoked.keys()]).toEqual(['-FF']);
    const positive = parseCertificate((await makeCert({ subject: 'CN=positive.example.com', issuer: ca, serialNumber: '00ff01' })).der);
    expect(positive.serialHex).toBe('FF01');
    expect(await statusOf(positive, negative)).toMatchObject({ status: 'good' });
    const minus255 = parseCrl(negative).revoked.get('-FF');
    expect(minus255).toMatchObject({ reason: 'unspecified', revocationDate: REVOKED_AT });
  });

  describe('fetched by the checker', () => {
    const bodies = new Map<string, Uint8Array>();
    let server: Awaited<ReturnType<typeof startFileServer>>;
    const fetcher = httpRevocationFetcher({ timeoutMs: 1500, maxCrlBytes: 4096, maxOcspBytes: 4096 });
    const leafAt = async (crlUrl: string, serialNumber = '2002') => parseCertificate((await makeCert({ subject: 'CN=fetched.example.com', issuer: ca, serialNumber, crlUrl })).der);
    beforeAll(async () => {
      server = await startFileServer(bodies);
    });
    afterAll(() => server?.close());

    it('fetches the CRL once per URL for a checker, and says revoked with where it came from', async () => {
      bodies.set('/ca.crl', await crl());
      let fetches = 0;
      const checker = new RevocationChecker({ fetcher: { ...fetcher, crl: (url) => (fetches++, fetcher.crl(url)) }, newNonce: () => Buffer.alloc(16) });
      const url = `${server.url}/ca.crl`;
      const [a, b] = await Promise.all([checker.status(await leafAt(url), issuer, new Date()), checker.status(await leafAt(url, '2001'), issuer, new Date())]);
      expect(a).toEqual({ status: 'revoked', source: 'crl', url, revokedAt: REVOKED_AT.toISOString(), reason: 'keyCompromise' });
      expect(b).toMatchObject({ status: 'good', url });
      expect(fetches).toBe(1);
    });

    it('keeps no more CRL than its byte budget: servers in a scanned range name their own CRLs, and cannot make a scan hold them all', async () => {
      bodies.set('/one.crl', await crl());
      bodies.set('/two.crl', await crl());
      const fetched: string[] = [];
      const size = (await fetcher.crl(`${server.url}/one.crl`)).length;
      const checker = new RevocationChecker({ fetcher: { ...fetcher, crl: (url) => (fetched.push(url.slice(-7)), fetcher.crl(url)) }, newNonce: () => Buffer.alloc(16), rememberedCrlBytes: size + 1 });
      for (const name of ['one', 'two', 'one', 'two']) await checker.status(await leafAt(`${server.url}/${name}.crl`), issuer, new Date());
      // Room for one: each in turn pushes the other out.
      expect(fetched).toEqual(['one.crl', 'two.crl', 'one.crl', 'two.crl']);
      const roomy = new RevocationChecker({ fetcher: { ...fetcher, crl: (url) => (fetched.push(url.slice(-7)), fetcher.crl(url)) }, newNonce: () => Buffer.alloc(16) });
      fetched.length = 0;
      for (const name of ['one', 'two', 'one', 'two']) await roomy.status(await leafAt(`${server.url}/${name}.crl`), issuer, new Date());
      expect(fetched).toEqual(['one.crl', 'two.crl']);
    });

    it('an unreachable, missing, oversized or non-CRL answer is unknown with the reason, never good', async () => {
      const checker = new RevocationChecker({ fetcher, newNonce: () => Buffer.alloc(16) });
      const closed = `http://127.0.0.1:${await freePort()}/ca.crl`;
      bodies.set('/big.crl', new Uint8Array(5000));
      bodies.set('/junk.crl', Buffer.from('<html>not a CRL</html>'));
      const cases: [string, RegExp][] = [
        [closed, /could not be reached: ECONNREFUSED/],
        [`${server.url}/missing.crl`, /answered HTTP 404/],
        [`${server.url}/big.crl`, /more than 4096 bytes/],
        [`${server.url}/junk.crl`, /does not start with a SEQUENCE/],
      ];
      for (const [url, why] of cases) {
        expect(await checker.status(await leafAt(url, '2001'), issuer, new Date()), url).toMatchObject({ status: 'unknown', why: expect.stringMatching(why) });
      }
    });

    it('a certificate naming no revocation source is not checked; one naming only ldap: is unknown', async () => {
      const checker = new RevocationChecker({ fetcher, newNonce: () => Buffer.alloc(16) });
      const bare = parseCertificate((await makeCert({ subject: 'CN=bare.example.com', issuer: ca })).der);
      expect(await checker.status(bare, issuer, new Date())).toMatchObject({ status: 'not-checked' });
      expect(await checker.status(await leafAt('ldap://ldap.example.test/cn=CRL'), issuer, new Date())).toMatchObject({ status: 'unknown', why: expect.stringMatching(/does not fetch \(ldap:/) });
    });
  });
});
