import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { certificateTbs } from '../shared/x509/certificate-builder.ts';
import { octets, oid, seq, set, tlv } from '../shared/x509/der-encode.ts';
import { OID } from '../shared/x509/oids.ts';
import { certificateNames, tbsNames } from '../shared/x509/tbs-names.ts';
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

  describe('spellings handed in ops case 07 (ct-missed-name-spellings)', () => {
    const handed = new URL('./fixtures/ops-cases/07-ct-missed-name-spellings/', import.meta.url);
    const watchlist = [parseWatchEntry('.example.com'), parseWatchEntry('bücher.example.org')];
    const namesOf = (file: string) => certificateNames(readFileSync(new URL(file, handed)));
    const san = (...values: (string | Buffer)[]) => tbsNames(tbs(undefined, values.map((v) => tlv(0x82, Buffer.from(v)))));

    it('finds a watched name in every handed certificate, the five missed before included', () => {
      const files = readdirSync(handed).filter((f) => f.endsWith('.der'));
      expect(files).toHaveLength(16);
      for (const file of files) expect(namesOf(file).some((n) => watched(n, watchlist)), file).toBe(true);
      expect(namesOf('san-utf8-ulabel.der')).toContain('xn--bcher-kva.example.org');
      expect(namesOf('san-utf8-ulabel-upper.der')).toContain('xn--bcher-kva.example.org');
      expect(namesOf('san-two-trailing-dots.der')).toEqual(['mail.example.com']);
      expect(namesOf('cn-two-trailing-dots.der')).toEqual(['legacy.example.com']);
      expect(namesOf('san-https-prefix.der')).toEqual(['login.example.com']);
    });

    it('reads a non-ASCII dNSName (IA5String by RFC 5280 4.2.1.6, any bytes in the wild) as UTF-8 and as Latin-1, each through IDNA', () => {
      const utf8 = Buffer.from('Bücher.example.org', 'utf8');
      expect(san(utf8)).toEqual(['xn--bcher-kva.example.org', 'xn--b14cher-xwa2143e.example.org']);
      // Bytes that are not UTF-8 are read as Latin-1 only: 0xFC is ü there.
      expect(san(Buffer.from('bücher.example.org', 'latin1'))).toEqual(['xn--bcher-kva.example.org']);
      // A TeletexString CN holding UTF-8 is read both ways too.
      expect(tbsNames(tbs(tlv(0x14, utf8), []))).toContain('xn--bcher-kva.example.org');
    });

    it('drops every trailing dot, folds case, and takes the host of a URL and the part before a NUL', () => {
      expect(san('MAIL.Example.COM...')).toEqual(['mail.example.com']);
      expect(tbsNames(tbs(tlv(0x0c, Buffer.from('Legacy.Example.COM..')), []))).toEqual(['legacy.example.com']);
      expect(san('HTTP://Login.Example.com/a/b', 'https://pay.example.com')).toEqual(['login.example.com', 'pay.example.com']);
      expect(tbsNames(tbs(tlv(0x0c, Buffer.from('https://cn.example.com/x')), []))).toEqual(['cn.example.com']);
      expect(san('login.example.com\0.evil.test')).toContain('login.example.com');
    });

    it('makes no decoy match: a name that is not under a watched domain stays unwatched in every reading', () => {
      const decoys = san(
        'https://evil.test/login.example.com', 'evil.test/x.example.com', 'example.com.evil.test..', 'notexample.com.', 'example.com-evil.test',
        Buffer.from('bücher.example.org.evil.test', 'utf8'), Buffer.from('xbücher.example.org', 'utf8'), Buffer.from('bücher-example.org', 'latin1'),
      );
      expect(decoys.length).toBeGreaterThan(0);
      for (const name of decoys) expect(watched(name, watchlist), name).toBe(false);
    });
  });
});
