import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { corpusCertificates, corpusFiles, expectations } from '../support/corpus.ts';

const KEY_NAMES: Record<string, string> = { secp256r1: 'P256', secp384r1: 'P384', secp521r1: 'P521', secp224r1: 'P224' };
const keyName = (computed: string) => computed.replace(/^EC-(\w+)$/, (_m, c) => `EC_${KEY_NAMES[c] ?? c}`).replace('-', '_');

/** zlint certificates this parser refuses on purpose: each has a malformed structure, named in the error. */
const ZLINT_REFUSED: Record<string, RegExp> = {
  'caMaxPathLenMissing.pem': /1\.3\.6\.1\.5\.5\.7\.1\.11: subjectInfoAccess: expected tag 0x30/,
  'caMaxPathLenPositive.pem': /subjectInfoAccess: expected tag 0x30/,
  'caMaxPathLenPresentNoCertSign.pem': /subjectInfoAccess: expected tag 0x30/,
  'generalizedHasSeconds.pem': /subjectInfoAccess: expected tag 0x30/,
  'generalizedNotZulu.pem': /subjectInfoAccess: expected tag 0x30/,
  'sha1ExpireAfter2017.pem': /subjectInfoAccess: expected tag 0x30/,
  'sha1ExpirePrior2017.pem': /subjectInfoAccess: expected tag 0x30/,
  'utcHasSeconds.pem': /subjectInfoAccess: expected tag 0x30/,
  'utcNotZulu.pem': /subjectInfoAccess: expected tag 0x30/,
  'caMaxPathNegative.pem': /pathLenConstraint is out of range/,
  'subCertPathLenNegative.pem': /pathLenConstraint is out of range/,
  'rsaKeyWithParameters.pem': /RSA key missing NULL parameters/,
};

describe('X.509 parsing: zlint corpus', () => {
  const files = expectations<{ computed: { parsed_by_python_cryptography: boolean; not_before?: string; not_after?: string; key?: string; sig_oid?: string } }>('zlint');

  it.each(corpusFiles('zlint'))('%s', (file) => {
    const [der] = corpusCertificates('zlint', file);
    const computed = files[file].computed;
    if (ZLINT_REFUSED[file]) {
      expect(() => certificateRecord(der)).toThrow(ZLINT_REFUSED[file]);
      return;
    }
    const record = certificateRecord(der);
    if (computed.not_before) expect(record.notBefore).toBe(new Date(computed.not_before).toISOString());
    if (computed.not_after) expect(record.notAfter).toBe(new Date(computed.not_after).toISOString());
    if (computed.key) expect(record.keyAlgorithm).toBe(keyName(computed.key));
    expect(record.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});

describe('X.509 parsing: malformed certificates (certificate-transparency-go)', () => {
  const files = expectations<{ desc: string; ctgo_wantErr: string }>('ctgo-invalid');
  const reasons: Record<string, RegExp> = {
    'mismatching signature algorithm identifiers': /mismatching signature algorithm identifiers/,
    'integer not minimally-encoded': /integer not minimally-encoded/,
    'zero length OBJECT IDENTIFIER': /zero length OBJECT IDENTIFIER/,
    'empty ExtendedKeyUsage': /2\.5\.29\.37: (empty ExtendedKeyUsage|.*truncated)/,
    'empty SubjectInfoAccess': /empty SubjectInfoAccess/,
    'insecure curve (secp192r1)': /insecure curve \(secp192r1\)/,
    'RSA modulus is not a positive number': /RSA modulus is not a positive number/,
    'RSA key missing NULL parameters': /RSA key missing NULL parameters/,
  };
  // What real CAs issue and certificate-transparency-go reports as a non-fatal error: read, with a note the findings show.
  const flagged: Record<string, RegExp> = {
    'PrintableString contains invalid character': /a PrintableString holds ; @, outside its character set/,
  };

  it.each(corpusFiles('ctgo-invalid'))('%s is refused with its reason, or read and flagged where real CAs issue it', (file) => {
    const [der] = corpusCertificates('ctgo-invalid', file);
    const want = files[file].ctgo_wantErr;
    if (flagged[want]) {
      expect(certificateRecord(der, 'upload').encodingNotes?.join()).toMatch(flagged[want]);
      return;
    }
    expect(reasons[want], want).toBeDefined();
    expect(() => certificateRecord(der, 'upload')).toThrow(reasons[want]);
    try {
      certificateRecord(der, 'upload');
    } catch (err) {
      expect((err as { field?: string }).field).toMatch(/^upload/);
    }
  });
});

describe('X.509 parsing: odd real-world certificates', () => {
  const one = (file: string) => certificateRecord(corpusCertificates('gct-realworld', file)[0]);

  it('reads a v1 certificate (no extensions)', () => {
    expect(one('v1_cert.pem')).toMatchObject({ version: 1, subjectAlternativeNames: [], selfSigned: true });
  });
  it('reads DSA and ECDSA keys', () => {
    expect(one('dsa_with_sha256.der')).toMatchObject({ keyAlgorithm: 'DSA_2048', signatureAlgorithm: 'dsa-with-SHA256' });
    expect(one('ecdsa_cert.pem')).toMatchObject({ keyAlgorithm: 'EC_P256', keyType: 'EC', curve: 'P256' });
  });
  it('reads a 512-bit RSA key and a time with a -1200 offset', () => {
    const r = one('promise_com.pem');
    expect(r.keyAlgorithm).toBe('RSA_512');
    expect(r.notBefore).toBe('2011-06-30T03:32:48.000Z');
  });
  it('reads times without seconds', () => {
    expect(one('marchnetworks_com.pem').notBefore).toBe('2000-01-01T00:00:00.000Z');
  });
  it('shows NUL bytes in names instead of cutting the name at them', () => {
    const r = one('null_chars.pem');
    expect(r.subject).toContain('\\00');
    expect(r.subjectAlternativeNames.some((n) => n.includes('\0'))).toBe(true);
  });
  it('keeps every CN and every kind of SAN', () => {
    expect(one('multiple_cn.pem').subject.match(/CN=/g)!.length).toBeGreaterThan(1);
    const an = one('multiple_an.pem');
    expect(an.subjectAlternativeNames).toEqual(expect.arrayContaining(['spires.wpafb.af.mil', '129.48.105.104']));
  });
  it('shows an 8-byte IP SAN as address/mask', () => {
    expect(one('invalid_ip.pem').subjectAlternativeNames).toContain('0.0.0.0/255.255.255.0');
  });
  it('reads AIA, CRL and SCT data', () => {
    const aia = one('aia.pem');
    expect(aia.ocspUrls.length + aia.caIssuersUrls.length).toBeGreaterThanOrEqual(2);
    expect(aia.crlUrls.length).toBeGreaterThan(0);
  });
  it('merges repeated EKU extensions', () => {
    expect(one('multiple_eku.pem').extendedKeyUsage!.length).toBeGreaterThan(1);
  });
  it.each([
    ['asn1_indefinite_length_encoding.pem', /indefinite length/],
    ['negative_serial.pem', /serialNumber: integer not minimally-encoded/],
    ['cert_bad_utf8_subject.pem', /invalid UTF8String/],
    ['matrixssl_sample.pem', /RSA modulus is not a positive number/],
  ])('refuses %s', (file, reason) => {
    expect(() => one(file)).toThrow(reason);
  });
  it('refuses garbage, truncation and trailing bytes with a clear error', () => {
    const der = corpusCertificates('gct-realworld', 'google_cert.der')[0];
    expect(() => certificateRecord(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => certificateRecord(Buffer.from('-----BEGIN CERTIFICATE-----'))).toThrow(/does not start with a SEQUENCE/);
    expect(() => certificateRecord(der.subarray(0, 300))).toThrow(/runs past the end|truncated/);
    expect(() => certificateRecord(Buffer.concat([der, Buffer.from([0])]))).toThrow(/1 bytes after the certificate/);
  });
});

describe('X.509 parsing agrees with Node (OpenSSL) on every certificate both accept', () => {
  const all = ['zlint', 'gct-realworld'].flatMap((dir) => corpusFiles(dir).flatMap((f) => corpusCertificates(dir, f).map((der, i) => [`${dir}/${f}#${i}`, der] as const)));

  it.each(all)('%s', (_name, der) => {
    let record;
    let node;
    try {
      record = certificateRecord(der);
      node = new X509Certificate(der);
    } catch {
      return;
    }
    expect(record.fingerprintSha256).toBe(node.fingerprint256);
    expect(record.fingerprintSha1).toBe(node.fingerprint);
    // Node prints negative serials with a sign; certops keeps the encoded bytes.
    if (!node.serialNumber.startsWith('-')) expect(record.serialNumber.replaceAll(':', '').replace(/^0+/, '')).toBe(node.serialNumber.replace(/^0+/, ''));
    // Node misreads years before 1950 (GeneralizedTime 0001...); compare the rest.
    if (Date.parse(record.notBefore) > Date.UTC(1950, 0)) expect(Date.parse(record.notBefore)).toBe(Date.parse(node.validFrom));
    if (Date.parse(record.notAfter) > Date.UTC(1950, 0)) expect(Date.parse(record.notAfter)).toBe(Date.parse(node.validTo));
    // Node quotes names holding separators as JSON strings.
    const nodeDns = (node.subjectAltName ?? '').split(/, (?=[A-Za-z ]+:)/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)).map((s) => (s.startsWith('"') ? JSON.parse(s) : s));
    const dns = record.subjectAlternativeNames.filter((n) => !isIP(n) && !n.includes('/') && !n.startsWith('invalid:'));
    if (!dns.some((n) => /[^\x20-\x7e]/.test(n))) expect(dns).toEqual(nodeDns);
    // Node's ca also requires keyCertSign when a key usage is present (X509_check_ca); compare where they mean the same.
    if (!record.keyUsage || record.keyUsage.includes('keyCertSign')) expect(record.basicConstraints?.ca ?? false).toBe(node.ca);
  });
});
