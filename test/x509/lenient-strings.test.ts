import { describe, expect, it } from 'vitest';
import { assembleCertificate, certificateTbs } from '../../shared/x509/certificate-builder.ts';
import { oid, seq, set, tlv } from '../../shared/x509/der-encode.ts';
import { OID } from '../../shared/x509/oids.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { certificateFindings } from '../../shared/findings/certificate-findings.ts';

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** A certificate whose subject CN is `value` encoded with ASN.1 tag `tag` (signature not valid: parsing does not check it). */
function withCommonName(tag: number, value: Buffer): Buffer {
  const tbs = certificateTbs({
    serial: Buffer.from([7]), signatureAlgorithmDer: ECDSA_SHA256, issuerDer: seq(set(seq(oid(OID.commonName), tlv(0x0c, Buffer.from('Test CA'))))),
    notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), subjectDer: seq(set(seq(oid(OID.commonName), tlv(tag, value)))),
    spkiDer: seq(seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), tlv(0x03, Buffer.from([0, 4, ...Array(64).fill(1)]))),
    extensions: [],
  } as never);
  return assembleCertificate(tbs, ECDSA_SHA256, seq(tlv(0x02, Buffer.from([1])), tlv(0x02, Buffer.from([1]))));
}

/** Strings as real CAs encode them (issue 12, parsing): read and flagged, never a crash; malformed ones refused alone. */
describe('string types in names', () => {
  it('reads a PrintableString holding * or @ (outside X.680\'s set) and flags it as a finding', () => {
    const record = certificateRecord(withCommonName(0x13, Buffer.from('*.example.com')));
    expect(record.commonName).toBe('*.example.com');
    expect(record.encodingNotes?.join()).toMatch(/PrintableString holds \*/);
    const findings = certificateFindings(record, { now: new Date('2026-06-01T00:00:00Z'), tlsServer: true });
    expect(findings.find((f) => f.id === 'nonstandard-encoding')).toMatchObject({ severity: 'low' });
  });

  it('refuses control characters in a PrintableString, an odd BMPString and a UniversalString not in fours, naming the field', () => {
    expect(() => certificateRecord(withCommonName(0x13, Buffer.from('a\u0001b')))).toThrow(/PrintableString contains invalid character/);
    expect(() => certificateRecord(withCommonName(0x1e, Buffer.from([0, 0x61, 0])))).toThrow(/BMPString of an odd number of bytes/);
    expect(() => certificateRecord(withCommonName(0x1c, Buffer.from([0, 0, 0, 0x61, 0])))).toThrow(/UniversalString/);
    expect(() => certificateRecord(withCommonName(0x0c, Buffer.from([0xc3, 0x28])))).toThrow(/invalid UTF8String/);
  });

  it('reads a standard PrintableString without a note', () => {
    expect(certificateRecord(withCommonName(0x13, Buffer.from('www.example.com'))).encodingNotes).toBeUndefined();
  });
});
