import { describe, expect, it } from 'vitest';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { dnsNameMatches } from '../../shared/x509/host-name.ts';
import { x509 } from '../support/x509-library.ts';
import { createHash, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintSha256 } from '../../shared/x509/certificate-record.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { ROOT } from '../support/processes.ts';
import { makeChain, makeCert, type TestCert } from '../support/pki.ts';

const DAY = 86_400_000;
const now = new Date();

describe('chain validation', () => {
  it('accepts a good chain, intermediates in any order and extra ones ignored, and reports the path', async () => {
    const { root, intermediate, leaf } = await makeChain(['api.example.com']);
    const stray = await makeCert({ subject: 'CN=Unrelated CA', ca: true });
    const verdict = verifyPemChain({ chainPem: leaf.pem + stray.pem + intermediate.pem, rootsPem: root.pem, at: now, host: 'api.example.com', purpose: 'serverAuth' });
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    expect(verdict.path.map((p) => p.subject)).toEqual(['CN=api.example.com', 'CN=Test Intermediate', 'CN=Test Root']);
  });

  it('reports an incomplete chain and an untrusted root', async () => {
    const { root, leaf } = await makeChain(['api.example.com']);
    expect(verifyPemChain({ chainPem: leaf.pem, rootsPem: root.pem, at: now }).reasons).toEqual([expect.stringMatching(/^incomplete chain: no issuer found for CN=api.example.com/)]);
    const selfSigned = await makeCert({ subject: 'CN=self.example.com', sans: ['self.example.com'] });
    expect(verifyPemChain({ chainPem: selfSigned.pem, rootsPem: root.pem, at: now }).reasons).toEqual([expect.stringMatching(/^untrusted root: CN=self.example.com is self-signed/)]);
  });

  it('checks signatures: a look-alike issuer with another key does not make a path', async () => {
    const { root, intermediate, leaf } = await makeChain(['api.example.com']);
    const impostor = await makeCert({ subject: 'CN=Test Intermediate', ca: true, issuer: root });
    const verdict = verifyPemChain({ chainPem: leaf.pem + impostor.pem, rootsPem: root.pem, at: now });
    expect(verdict.valid).toBe(false);
    expect(verifyPemChain({ chainPem: leaf.pem + impostor.pem + intermediate.pem, rootsPem: root.pem, at: now }).valid).toBe(true);
  });

  it('gives up, with a reason, on a served mesh of cross-signed CAs instead of trying every path', async () => {
    // Eleven CAs, each named apart, and a certificate of each CA signed by each CA: every
    // certificate has eleven issuers and no path is anchored. Loop detection leaves 10! paths;
    // the signature budget ends the search long before.
    const { root } = await makeChain(['unused.example.com']);
    const keys = await Promise.all(Array.from({ length: 11 }, () => webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']) as Promise<CryptoKeyPair>));
    const meshIssuer = (i: number) => ({ keys: keys[i], cert: { subject: `CN=Mesh ${i}` } }) as unknown as TestCert;
    const mesh = (await Promise.all(keys.flatMap((subjectKey, i) => keys.map((_, j) => makeCert({ subject: `CN=Mesh ${i}`, ca: true, keys: subjectKey, issuer: meshIssuer(j) }))))).map((c) => c.pem);
    const leaf = await makeCert({ subject: 'CN=mesh.example.com', sans: ['mesh.example.com'], issuer: meshIssuer(0) });
    const verdict = verifyPemChain({ chainPem: leaf.pem + mesh.join(''), rootsPem: root.pem, at: now });
    expect(verdict.valid).toBe(false);
    expect(verdict.reasons[0]).toMatch(/^path building gave up/);
  });

  it('never puts a (name, key) pair on a path twice: a mesh of one name\'s cross-signed keys ends "incomplete" (RFC 4158 5.2; handed case x509/01)', () => {
    for (const [chain, roots, keys] of [['chain.pem', 'roots.pem', 6], ['chain-7keys.pem', 'roots-7keys.pem', 7]] as const) {
      const dir = join(ROOT, 'test/fixtures/x509-cases/01-pathbuild-dos');
      const chainPem = readFileSync(join(dir, chain), 'utf8');
      const keyOf = new Map(certificateBlocks(chainPem, 'chain').map((der) => [fingerprintSha256(der), createHash('sha256').update(parseCertificate(der).spkiDer).digest('hex')]));
      const verdict = verifyPemChain({ chainPem, rootsPem: readFileSync(join(dir, roots), 'utf8'), at: new Date('2026-12-15T00:00:00Z'), host: 'www.example.com', purpose: 'serverAuth' });
      expect(verdict.valid).toBe(false);
      expect(verdict.reasons).toEqual([expect.stringMatching(/^incomplete chain: no issuer found for CN=Example Mesh CA, O=Example/)]);
      // The longest path tried: the leaf, then each key of the mesh once.
      expect(verdict.path).toHaveLength(keys + 1);
      expect(new Set(verdict.path.map((c) => keyOf.get(c.fingerprintSha256))).size).toBe(keys + 1);
    }
  });

  it('does not take a certificate cut short by one path\'s loop for a dead end on another (RFC 4158 5.2)', async () => {
    // leaf <- Z (by X) <- X (by Y) <- Y (by R) <- R, and served first an expired Z (by Y) and a Y (by X):
    // down the first, X (by Y) meets Y again (a loop), yet X (by Y) is on the one good path.
    const R = await makeCert({ subject: 'CN=R', ca: true });
    const YbyR = await makeCert({ subject: 'CN=Y', ca: true, issuer: R });
    const XbyY = await makeCert({ subject: 'CN=X', ca: true, issuer: YbyR });
    const ZbyX = await makeCert({ subject: 'CN=Z', ca: true, issuer: XbyY });
    const YbyX = await makeCert({ subject: 'CN=Y', ca: true, keys: YbyR.keys, issuer: XbyY });
    const oldZbyY = await makeCert({ subject: 'CN=Z', ca: true, keys: ZbyX.keys, issuer: YbyR, notBefore: new Date(now.getTime() - 100 * DAY), notAfter: new Date(now.getTime() - 10 * DAY) });
    const leaf = await makeCert({ subject: 'CN=loop.example.com', sans: ['loop.example.com'], issuer: ZbyX });
    const verdict = verifyPemChain({ chainPem: [leaf, oldZbyY, YbyX, ZbyX, XbyY, YbyR].map((c) => c.pem).join(''), rootsPem: R.pem, at: now });
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    expect(verdict.path.map((c) => c.subject)).toEqual(['CN=loop.example.com', 'CN=Z', 'CN=X', 'CN=Y', 'CN=R']);
  });

  it('checks validity at the given time', async () => {
    const { root, intermediate, leaf } = await makeChain(['old.example.com'], { notBefore: new Date(now.getTime() - 100 * DAY), notAfter: new Date(now.getTime() - 10 * DAY) });
    const chainPem = leaf.pem + intermediate.pem;
    expect(verifyPemChain({ chainPem, rootsPem: root.pem, at: now }).reasons).toEqual([expect.stringMatching(/the leaf \(CN=old.example.com\) expired on/)]);
    expect(verifyPemChain({ chainPem, rootsPem: root.pem, at: new Date(now.getTime() - 20 * DAY) }).reasons).toEqual([
      expect.stringMatching(/^CN=Test Intermediate is not valid before/),
      expect.stringMatching(/^CN=Test Root is not valid before/),
    ]);
  });

  it('requires CA basic constraints, keyCertSign and path lengths of issuers', async () => {
    const root = await makeCert({ subject: 'CN=Root', ca: true, pathLength: 0 });
    const notCa = await makeCert({ subject: 'CN=Not A CA', ca: false, keyUsage: x509.KeyUsageFlags.keyCertSign, issuer: root });
    const leaf1 = await makeCert({ subject: 'CN=a.example.com', sans: ['a.example.com'], issuer: notCa });
    expect(verifyPemChain({ chainPem: leaf1.pem + notCa.pem, rootsPem: root.pem, at: now }).reasons).toContain('CN=Not A CA issues certificates but is not a CA (basicConstraints)');
    const noSign = await makeCert({ subject: 'CN=No CertSign', ca: true, keyUsage: x509.KeyUsageFlags.cRLSign, issuer: root });
    const leaf2 = await makeCert({ subject: 'CN=b.example.com', sans: ['b.example.com'], issuer: noSign });
    expect(verifyPemChain({ chainPem: leaf2.pem + noSign.pem, rootsPem: root.pem, at: now }).reasons).toContain('CN=No CertSign issues certificates but its key usage lacks keyCertSign');
    const i1 = await makeCert({ subject: 'CN=I1', ca: true, issuer: root });
    const i2 = await makeCert({ subject: 'CN=I2', ca: true, issuer: i1 });
    const leaf3 = await makeCert({ subject: 'CN=c.example.com', sans: ['c.example.com'], issuer: i2 });
    expect(verifyPemChain({ chainPem: leaf3.pem + i2.pem + i1.pem, rootsPem: root.pem, at: now }).reasons).toEqual(['CN=Root allows 0 intermediate CAs below it, the path has 2']);
  });

  it('lets a CA certificate end a path (RFC 5280 4.2.1.9 note) unless it cannot sign certificates (CABF BR 7.1.2.7.8)', async () => {
    const { root } = await makeChain(['unused.example.com']);
    const caLeaf = await makeCert({ subject: 'CN=ca.example.com', sans: ['ca.example.com'], ca: true, issuer: root });
    expect(verifyPemChain({ chainPem: caLeaf.pem, rootsPem: root.pem, at: now, host: 'ca.example.com', purpose: 'serverAuth' })).toMatchObject({ valid: true, reasons: [] });
    const mislabelled = await makeCert({ subject: 'CN=ee.example.com', sans: ['ee.example.com'], ca: true, keyUsage: x509.KeyUsageFlags.digitalSignature, eku: ['1.3.6.1.5.5.7.3.1'], issuer: root });
    expect(verifyPemChain({ chainPem: mislabelled.pem, rootsPem: root.pem, at: now, host: 'ee.example.com', purpose: 'serverAuth' }).reasons).toEqual([expect.stringMatching(/asserts cA without keyCertSign/)]);
  });

  it('checks extended key usage for the purpose', async () => {
    const { root, intermediate, leaf } = await makeChain(['client.example.com'], { eku: ['1.3.6.1.5.5.7.3.2'] });
    const chainPem = leaf.pem + intermediate.pem;
    expect(verifyPemChain({ chainPem, rootsPem: root.pem, at: now, purpose: 'clientAuth' }).valid).toBe(true);
    expect(verifyPemChain({ chainPem, rootsPem: root.pem, at: now, purpose: 'serverAuth' }).reasons).toEqual([expect.stringMatching(/not valid for serverAuth \(extended key usage: clientAuth\)/)]);
  });

  it('applies name constraints', async () => {
    const root = await makeCert({ subject: 'CN=Constrained Root', ca: true, permittedDns: ['example.com'] });
    const good = await makeCert({ subject: 'CN=www.example.com', sans: ['www.example.com'], issuer: root });
    const bad = await makeCert({ subject: 'CN=www.example.org', sans: ['www.example.org'], issuer: root });
    expect(verifyPemChain({ chainPem: good.pem, rootsPem: root.pem, at: now }).valid).toBe(true);
    expect(verifyPemChain({ chainPem: bad.pem, rootsPem: root.pem, at: now }).reasons).toEqual(['www.example.org of CN=www.example.org is outside the names permitted by CN=Constrained Root']);
  });

  it('matches host names as RFC 6125 says', async () => {
    expect(dnsNameMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(dnsNameMatches('*.example.com', 'a.b.example.com')).toBe(false);
    expect(dnsNameMatches('*.example.com', 'example.com')).toBe(false);
    expect(dnsNameMatches('a*.example.com', 'ab.example.com')).toBe(false);
    expect(dnsNameMatches('*.com', 'example.com')).toBe(false);
    expect(dnsNameMatches('API.Example.com', 'api.example.COM')).toBe(true);
    const { root, intermediate, leaf } = await makeChain(['*.example.com', '10.1.2.3']);
    const chainPem = leaf.pem + intermediate.pem;
    const check = (host: string) => verifyPemChain({ chainPem, rootsPem: root.pem, at: now, host }).valid;
    expect(check('www.example.com')).toBe(true);
    expect(check('10.1.2.3')).toBe(true);
    expect(check('10.1.2.4')).toBe(false);
    expect(check('deep.www.example.com')).toBe(false);
    // The CN is never a host name (RFC 9525 6.4.4), not even without SANs.
    const cnOnly = await makeCert({ subject: 'CN=legacy.example.com', issuer: intermediate });
    expect(verifyPemChain({ chainPem: cnOnly.pem + intermediate.pem, rootsPem: root.pem, at: now, host: 'legacy.example.com' }).reasons).toEqual([expect.stringMatching(/the CN is not a host name/)]);
    const cnAndSan = await makeCert({ subject: 'CN=cn.example.com', sans: ['san.example.com'], issuer: intermediate });
    expect(verifyPemChain({ chainPem: cnAndSan.pem + intermediate.pem, rootsPem: root.pem, at: now, host: 'cn.example.com' }).reasons).toEqual([expect.stringMatching(/^hostname mismatch: cn.example.com/)]);
    // An IP address is checked against IP SANs only, never a DNS SAN or CN that spells it.
    const ipAsDns = await makeCert({ subject: 'CN=10.9.9.9', sans: ['host.example.com'], issuer: intermediate });
    expect(verifyPemChain({ chainPem: ipAsDns.pem + intermediate.pem, rootsPem: root.pem, at: now, host: '10.9.9.9' }).valid).toBe(false);
  });

  it('reports every problem at once', async () => {
    const { root, intermediate, leaf } = await makeChain(['multi.example.com'], { notAfter: new Date(now.getTime() - DAY), eku: ['1.3.6.1.5.5.7.3.2'] });
    const verdict = verifyPemChain({ chainPem: leaf.pem + intermediate.pem, rootsPem: root.pem, at: now, host: 'other.example.com', purpose: 'serverAuth' });
    expect(verdict.reasons).toHaveLength(3);
  });

  it('validates a real chain against Node’s bundled roots by default, at a time it was valid', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { CORPUS } = await import('../support/corpus.ts');
    const chainPem = readFileSync(join(CORPUS, 'gct-realworld/ev_chain.pem'), 'utf8');
    const verdict = verifyPemChain({ chainPem, at: new Date('2013-06-01T00:00:00Z') });
    expect(verdict.path.length).toBeGreaterThanOrEqual(2);
    expect(verdict.path[0].subject).toMatch(/credit-suisse/);
  });

  it('refuses unusable input naming it', () => {
    expect(() => verifyPemChain({ chainPem: 'nothing here', at: now })).toThrow(/chain holds no PEM CERTIFICATE block/);
  });
});

describe('remembered signature checks', () => {
  it('do not let a signature copied onto other bytes pass', async () => {
    const { root, intermediate, leaf } = await makeChain(['copy.example.com']);
    expect(verifyPemChain({ chainPem: leaf.pem + intermediate.pem, rootsPem: root.pem, at: now }).valid).toBe(true);
    // Same issuer, same signature value, a different name in the signed part.
    const der = Buffer.from(leaf.der);
    const at = der.indexOf(Buffer.from('copy.example.com'));
    der.write('evil', at, 'latin1');
    const { toPem } = await import('../../shared/x509/pem.ts');
    const forged = verifyPemChain({ chainPem: toPem(der) + intermediate.pem, rootsPem: root.pem, at: now });
    expect(forged.valid).toBe(false);
    expect(forged.reasons[0]).toMatch(/^incomplete chain/);
  });
});
