import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateFindings } from '../shared/findings/certificate-findings.ts';
import { endpointFindings } from '../services/inventory/endpoint-findings.ts';
import { certificateRecord, fingerprintSha256 } from '../shared/x509/certificate-record.ts';
import { validateChain } from '../shared/x509/chain-validation.ts';
import { parseCertificate, type ParsedCertificate } from '../shared/x509/parse-certificate.ts';
import { pemBlocks } from '../shared/x509/pem.ts';
import { ROOT } from './support/processes.ts';
import { corpusCertificates } from './support/corpus.ts';
import { makeCert, makeChain } from './support/pki.ts';
import { x509 } from './support/x509-library.ts';

const DAY = 86_400_000;
const ids = (der: Buffer, now = new Date(), tlsServer = true) => certificateFindings(certificateRecord(der), { now, tlsServer }).map((f) => f.id).sort();

describe('certificate findings', () => {
  it('finds nothing wrong with a sound short-lived leaf', async () => {
    const { leaf } = await makeChain(['ok.example.com']);
    expect(ids(leaf.der)).toEqual([]);
  });

  it('says how soon expiry comes: 30, 14 and 7 days, then expired, with the date', async () => {
    const { leaf } = await makeChain(['soon.example.com'], { notAfter: new Date(Date.now() + 120 * DAY) });
    const at = (d: number) => new Date(Date.now() + d * DAY);
    expect(ids(leaf.der, at(85))).toEqual([]);
    expect(ids(leaf.der, at(91))).toEqual(['expiring-30d']);
    expect(ids(leaf.der, at(107))).toEqual(['expiring-14d']);
    expect(ids(leaf.der, at(114))).toEqual(['expiring-7d']);
    expect(certificateFindings(certificateRecord(leaf.der), { now: at(114) })[0].message).toMatch(/^expires in 5 days \(\d{4}-\d{2}-\d{2}\): renew it today$/);
    const expired = certificateFindings(certificateRecord(leaf.der), { now: at(121) });
    expect(expired).toEqual([{ id: 'expired', severity: 'critical', message: expect.stringMatching(/^expired on \d{4}-\d{2}-\d{2}: replace it now$/) }]);
    expect(ids(leaf.der, at(-3))).toEqual(['not-yet-valid']);
  });

  it('scales the expiry bands down for lifetimes under 90 days: a 30-day or 6-day certificate is not expiring when it is issued, only in its last third', async () => {
    const now = Date.now();
    const at = (d: number) => new Date(now + d * DAY);
    const month = (await makeChain(['month.example.com'], { notBefore: new Date(now), notAfter: at(30) })).leaf;
    expect(ids(month.der, at(0.01))).toEqual([]);
    expect(ids(month.der, at(19))).toEqual([]);
    expect(ids(month.der, at(21))).toEqual(['expiring-30d']);
    expect(ids(month.der, at(26))).toEqual(['expiring-14d']);
    expect(ids(month.der, at(28))).toEqual(['expiring-7d']);
    const sixDays = (await makeChain(['six.example.com'], { notBefore: new Date(now), notAfter: at(6) })).leaf;
    expect(ids(sixDays.der, at(0.01))).toEqual([]);
    expect(ids(sixDays.der, at(3.9))).toEqual([]);
    expect(ids(sixDays.der, at(4.1))).toEqual(['expiring-30d']);
    const lastHours = certificateFindings(certificateRecord(sixDays.der), { now: at(5.75) });
    expect(lastHours).toEqual([{ id: 'expiring-7d', severity: 'critical', message: expect.stringMatching(/^expires in [56] hours \(\d{4}-\d{2}-\d{2}\): renew it today$/) }]);
  });

  it('flags self-signed leaves, missing SANs, wildcards, missing serverAuth and CA:true on a server', async () => {
    const selfSigned = await makeCert({ subject: 'CN=box.example.com', sans: ['box.example.com'] });
    expect(ids(selfSigned.der)).toEqual(['self-signed-leaf']);
    const { intermediate } = await makeChain(['x.example.com']);
    const noSan = await makeCert({ subject: 'CN=nosan.example.com', issuer: intermediate });
    expect(ids(noSan.der)).toEqual(['no-san']);
    const wildcard = await makeCert({ subject: 'CN=*.example.com', sans: ['*.example.com'], issuer: intermediate });
    expect(ids(wildcard.der)).toEqual(['wildcard']);
    const clientOnly = await makeCert({ subject: 'CN=c.example.com', sans: ['c.example.com'], eku: ['1.3.6.1.5.5.7.3.2'], issuer: intermediate });
    expect(ids(clientOnly.der)).toEqual(['missing-server-auth']);
    expect(ids(clientOnly.der, new Date(), false)).toEqual([]);
    const caOnServer = await makeCert({ subject: 'CN=ca.example.com', ca: true, sans: ['ca.example.com'], issuer: intermediate, keyUsage: x509.KeyUsageFlags.keyCertSign });
    expect(ids(caOnServer.der)).toEqual(['ca-leaf']);
  });

  it('flags validity over 398 days for publicly trusted names only', async () => {
    const { intermediate } = await makeChain(['x.example.com']);
    const long = { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 500 * DAY), issuer: intermediate };
    expect(ids((await makeCert({ subject: 'CN=shop.acme.io', sans: ['shop.acme.io'], ...long })).der)).toEqual(['validity-too-long']);
    expect(ids((await makeCert({ subject: 'CN=db.corp.internal', sans: ['db.corp.internal'], ...long })).der)).toEqual([]);
    expect(ids((await makeCert({ subject: 'CN=10.0.0.7', sans: ['10.0.0.7'], ...long })).der)).toEqual([]);
  });

  it('flags weak keys, curves and signatures in real certificates', () => {
    const rec = (dir: string, f: string) => certificateRecord(corpusCertificates(dir, f)[0]);
    const now = new Date('2013-01-01T00:00:00Z');
    const find = (dir: string, f: string) => certificateFindings(rec(dir, f), { now }).map((x) => x.id);
    expect(find('gct-realworld', 'promise_com.pem')).toContain('weak-rsa-key');
    expect(find('gct-realworld', 'dsa_with_sha256.der')).toContain('weak-key-type');
    expect(find('zlint', 'subKeyUsageValid.pem')).toContain('weak-curve');
    expect(find('zlint', 'sha1WithRSASignatureAlgorithm.pem')).toContain('weak-signature');
    expect(find('zlint', 'md5WithRSASignatureAlgorithm.pem')).toContain('weak-signature');
    expect(find('gct-realworld', 'ecdsa_cert.pem')).not.toContain('weak-signature');
    const message = certificateFindings(rec('gct-realworld', 'promise_com.pem'), { now }).find((f) => f.id === 'weak-rsa-key')!;
    expect(message).toEqual({ id: 'weak-rsa-key', severity: 'high', message: 'RSA key of 512 bits: use at least 2048' });
  });
});

describe('endpoint findings from chain validation', () => {
  it('reports what fails the chain above the leaf as chain-invalid, and leaves the leaf\'s own faults to the certificate', () => {
    const verdict = { valid: false, path: [], reasons: ['CN=Old Intermediate expired on 2026-01-01T00:00:00.000Z', 'the leaf (CN=a.example.com) expired on 2026-01-02T00:00:00.000Z', 'incomplete chain: no issuer found for CN=X (issuer CN=Y)'] };
    const found = endpointFindings(verdict, {});
    expect(found.map((f) => f.id).sort()).toEqual(['chain-invalid', 'incomplete-chain']);
    expect(found.find((f) => f.id === 'chain-invalid')!.message).toMatch(/^CN=Old Intermediate expired/);
  });
});

describe('a chain served out of order (ops/13; RFC 5246 7.4.2, RFC 8446 4.4.2)', () => {
  const dir = join(ROOT, 'test/fixtures/ops-cases/13-chain-out-of-order');
  const read = (file: string) => pemBlocks(readFileSync(join(dir, file), 'utf8')).map((b) => parseCertificate(b.der));
  const [leaf] = read('leaf.pem');
  const roots = read('root.pem');
  const at = new Date(leaf.notBefore.getTime() + DAY);
  const judge = (served: ParsedCertificate[]) => {
    const verdict = validateChain({ leaf, intermediates: served, roots, at, host: 'localhost', purpose: 'serverAuth' });
    return endpointFindings(verdict, { chainFingerprints: [leaf, ...served].map((c) => fingerprintSha256(c.der)) });
  };

  it('is complete: a low-severity warning naming the order to send, never "incomplete chain"', () => {
    const found = judge(read('chain-out-of-order.pem'));
    expect(found.map((f) => [f.id, f.severity])).toEqual([['chain-out-of-order', 'low']]);
    expect(found[0].message).toMatch(/sends CN=Example Scan Intermediate 1.* then CN=Example Scan Intermediate 2.*: send CN=Example Scan Intermediate 2.* then CN=Example Scan Intermediate 1/);
  });

  it('says nothing of a chain in order, nor of a served root or an unneeded certificate after the path', () => {
    const [int2, int1] = read('chain-in-order.pem');
    expect(judge([int2, int1])).toEqual([]);
    expect(judge([int2, int1, ...roots])).toEqual([]);
    expect(judge([int2, int1, leaf])).toEqual([]);
  });

  it('flags an unneeded certificate sent before the issuer, and leaves a missing one to incomplete-chain', () => {
    const [int2, int1] = read('chain-in-order.pem');
    const extra = judge([roots[0], int2, int1]);
    expect(extra.map((f) => f.id)).toEqual(['chain-out-of-order']);
    expect(extra[0].message).toMatch(/sends CN=Example Scan Root.* then/);
    expect(judge([int1]).map((f) => f.id)).toEqual(['incomplete-chain']);
  });
});
