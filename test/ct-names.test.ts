import { describe, expect, it } from 'vitest';
import { certificateTbs } from '../shared/x509/certificate-builder.ts';
import { octets, oid, seq, set, tlv } from '../shared/x509/der-encode.ts';
import { OID } from '../shared/x509/oids.ts';
import { tbsNames } from '../shared/x509/tbs-names.ts';
import { parseWatchEntry, watched } from '../shared/ct/watchlist.ts';

/** A TBSCertificate with the given subject CN (as DER string `cnTlv`) and dNSName SANs, for the CT name reader. */
function tbs(cnTlv: Buffer | undefined, sans: Buffer[]): Buffer {
  const subject = cnTlv ? seq(set(seq(oid(OID.commonName), cnTlv))) : seq();
  return certificateTbs({
    serial: Buffer.from([1]), signatureAlgorithmDer: seq(oid('1.2.840.10045.4.3.2')), issuerDer: seq(set(seq(oid(OID.commonName), tlv(0x0c, Buffer.from('CA'))))),
    notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), subjectDer: subject,
    spkiDer: seq(seq(oid('1.2.840.10045.2.1'), oid('1.2.840.10045.3.1.7')), tlv(0x03, Buffer.from([0, 4, ...Array(64).fill(1)]))),
    extensions: sans.length ? [seq(oid(OID.subjectAltName), octets(seq(...sans)))] : [],
  } as never);
}

const bmp = (s: string) => tlv(0x1e, Buffer.from(s, 'utf16le').swap16());

/** Names are read as certspotter reads them, so no spelling hides a certificate on a watched domain (ops case 07). */
describe('CT name reading', () => {
  const watch = [parseWatchEntry('.example.com')];

  it('decodes a BMPString CN as UTF-16 big-endian (RFC 5280 4.1.2.4)', () => {
    expect(tbsNames(tbs(bmp('legacy.example.com'), []))).toEqual(['legacy.example.com']);
    expect(watched('legacy.example.com', watch)).toBe(true);
  });

  it('drops a trailing dot and lower-cases a SAN', () => {
    expect(tbsNames(tbs(undefined, [tlv(0x82, Buffer.from('Mail.Example.COM.'))]))).toEqual(['mail.example.com']);
  });

  it('maps a Unicode CN to its IDNA A-label, and skips a CN its string type cannot hold', () => {
    expect(tbsNames(tbs(tlv(0x0c, Buffer.from('bücher.example.com')), []))).toEqual(['xn--bcher-kva.example.com']);
    expect(tbsNames(tbs(tlv(0x1e, Buffer.from([0, 0x61, 0])), [tlv(0x82, Buffer.from('ok.example.com'))]))).toEqual(['ok.example.com']);
  });
});
