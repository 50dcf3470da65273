import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { beyondBounds } from '../../shared/x509/certificate-profile.ts';
import { ROOT } from '../support/processes.ts';
import { makeCert } from '../support/pki.ts';
import { x509 } from '../support/x509-library.ts';

/** Other members of the handed cases' classes (test/fixtures/x509-variants/SOURCE.md), each verified as `certops verify` does. */
function verify(name: string) {
  const dir = join(ROOT, 'test/fixtures/x509-variants', name);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { host: string | null; purpose: 'serverAuth' | 'clientAuth' | null };
  return verifyPemChain({
    chainPem: readFileSync(join(dir, 'chain.pem'), 'utf8'), rootsPem: readFileSync(join(dir, 'roots.pem'), 'utf8'), at: new Date('2026-12-15T00:00:00Z'),
    ...(meta.host ? { host: meta.host } : {}), ...(meta.purpose ? { purpose: meta.purpose } : {}),
  });
}
const refused = (name: string, reason: RegExp) => {
  const verdict = verify(name);
  expect(verdict.valid, verdict.reasons.join('; ')).toBe(false);
  expect(verdict.reasons.join('; ')).toMatch(reason);
};

describe('other instances of the X.509 classes', () => {
  it('compares directoryName constraints as RFC 5280 7.1 says: case, repeated spaces and string types aside', () => {
    for (const name of ['nc-dirname-case', 'nc-dirname-space', 'nc-dirname-utf8', 'nc-dirname-san-case']) refused(name, /directory name .* is excluded by the name constraints/);
    expect(verify('nc-dirname-permitted-utf8').valid).toBe(true);
  });

  it('applies rfc822Name constraints to the subject\'s emailAddress when there is no subjectAltName (RFC 5280 4.2.1.10)', () => {
    refused('nc-email-subject', /bob@example\.org .* is excluded by the name constraints/);
    refused('nc-email-subject-permitted', /bob@example\.org .* is outside the names permitted/);
  });

  it('refuses an iPAddress subjectAltName that is not 4 or 16 octets (RFC 5280 4.2.1.6), even under a CA excluding every address', () => {
    refused('nc-ip-5bytes', /malformed iPAddress subjectAltName/);
  });

  it('refuses a precertificate for any purpose, not only serverAuth (RFC 6962 3.1)', () => {
    refused('poison-clientauth', /CT precertificate/);
    refused('poison-nopurpose', /CT precertificate/);
  });

  it('refuses a path whose CA requires an explicit policy certops cannot confirm (RFC 5280 4.2.1.11, 6.1.5 (g))', () => {
    refused('policy-require-explicit', /requires an explicit certificate policy/);
  });

  it('holds each certificate to the RFC 5280 profile: key identifiers, basic constraints and key usage, subjectAltName', () => {
    refused('ski-critical', /marks subjectKeyIdentifier critical \(RFC 5280 4\.2\.1\.2/);
    refused('aki-no-keyid', /authorityKeyIdentifier without a keyIdentifier \(RFC 5280 4\.2\.1\.1/);
    refused('bc-pathlen-non-ca', /pathLenConstraint without cA \(RFC 5280 4\.2\.1\.9/);
    refused('ca-no-keyusage', /a CA without keyUsage \(RFC 5280 4\.2\.1\.3/);
    refused('ku-empty', /keyUsage with no bit set \(RFC 5280 4\.2\.1\.3/);
    refused('san-empty', /empty subjectAltName \(RFC 5280 4\.2\.1\.6/);
  });

  it('refuses SHA-1 however it is named for serverAuth (RSASSA-PSS defaults, OIW\'s identifier), and keeps RSASSA-PSS with SHA-256', () => {
    refused('rsapss-sha1', /signed with rsassaPss-with-SHA1, which is refused for TLS servers/);
    refused('sha1-oiw-oid', /signed with sha1WithRSASignature, which is refused for TLS servers/);
    expect(verify('rsapss-sha256-control').valid).toBe(true);
  });

  it('refuses an RSA server key whose exponent is even or below 3 (CABF BR 6.1.6)', () => {
    refused('rsa-exponent-1', /public exponent is even or below 3/);
    refused('rsa-exponent-even', /public exponent is even or below 3/);
  });

  it('reads what a strict DER parser must refuse as a parse error: two extension blocks, a two-octet BOOLEAN, impossible dates', () => {
    expect(() => verify('two-extension-blocks')).toThrow(/fields after subjectPublicKeyInfo/);
    expect(() => verify('boolean-len2')).toThrow(/one-octet BOOLEAN/);
    expect(() => verify('time-feb30')).toThrow(/notAfter is not a valid time \("270230040000Z"\)/);
    expect(() => verify('time-month13')).toThrow(/is not a valid time/);
  });

  it('tries every copy of an anchor in the trust store, so an expired copy listed first does not hide the valid one (RFC 5280 6.1.1 (d))', () => {
    expect(verify('anchor-two-copies')).toMatchObject({ valid: true });
  });

  it('takes a version 1 private root as a trust anchor: its name and key, without extensions (RFC 5280 6.1.1 (d))', () => {
    expect(verify('v1-anchor')).toMatchObject({ valid: true, reasons: [] });
  });

  it('counts a serial\'s own octets against RFC 5280 4.1.2.2\'s 20: a positive 20-octet serial with its top bit set (21 octets encoded) conforms, 21 octets do not', () => {
    const withSerial = (hex: string) => beyondBounds({ serialBytes: Buffer.from(hex, 'hex'), subjectCommonNames: [], issuerCommonNames: [], extensions: { san: { dns: [], email: [] } } } as never);
    expect(withSerial(`00${'ff'.repeat(20)}`)).toEqual([]);
    expect(withSerial(`00${'ff'.repeat(21)}`)).toEqual(['a serialNumber of 21 octets, over the 20 RFC 5280 4.1.2.2 allows']);
    expect(withSerial('7f'.repeat(21))).toEqual(['a serialNumber of 21 octets, over the 20 RFC 5280 4.1.2.2 allows']);
  });
});

describe('directoryName constraints on hostile names (RFC 5280 4.2.1.10, 7.1)', () => {
  const len = (n: number) => (n < 128 ? [n] : [0x81, n]);
  const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag, ...len(content.length)]), content]);
  /** nameConstraints with one directoryName subtree, permitted ([0]) or excluded ([1]). */
  const directoryConstraint = (subtree: 0xa0 | 0xa1, name: Buffer) => new x509.Extension('2.5.29.30', true, tlv(0x30, tlv(subtree, tlv(0x30, tlv(0xa4, name)))));
  const nameDer = (name: ConstructorParameters<typeof x509.Name>[0]) => Buffer.from(new x509.Name(name).toArrayBuffer());
  /** Names no parser accepts: an attribute without a value, and a UTF8String that is not UTF-8. */
  const unreadable = [Buffer.from('300731053003060155', 'hex'), Buffer.from('300c310a300806035504030c01ff', 'hex')];
  const verdict = async (caExtension: InstanceType<typeof x509.Extension>, leafSpec: { subject: string; sans?: string[]; extensions?: InstanceType<typeof x509.Extension>[] }) => {
    const ca = await makeCert({ subject: 'CN=Constrained CA', ca: true, extensions: [caExtension] });
    const leaf = await makeCert({ sans: ['a.example.com'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: ca, ...leafSpec });
    return verifyPemChain({ chainPem: leaf.pem + ca.pem, rootsPem: ca.pem, at: new Date(), host: 'a.example.com', purpose: 'serverAuth' });
  };

  it('takes a subtree or a name it cannot read as a violation, never an exception', async () => {
    for (const name of unreadable) {
      expect(await verdict(directoryConstraint(0xa1, name), { subject: 'CN=a.example.com' })).toMatchObject({ valid: false, reasons: expect.arrayContaining([expect.stringMatching(/directory name .* is excluded by the name constraints/)]) });
      const sanWithIt = new x509.Extension('2.5.29.17', false, tlv(0x30, Buffer.concat([tlv(0x82, Buffer.from('a.example.com')), tlv(0xa4, name)])));
      expect(await verdict(directoryConstraint(0xa0, nameDer([{ CN: ['a.example.com'] }])), { subject: 'CN=a.example.com', sans: undefined, extensions: [sanWithIt] })).toMatchObject({ valid: false, reasons: expect.arrayContaining([expect.stringMatching(/is outside the names permitted/)]) });
    }
  });

  it('compares a multi-valued RDN as a set of attributes: one value spelling two attributes is not them', async () => {
    const permitted = directoryConstraint(0xa0, nameDer([{ C: ['US'] }, { O: ['Acme'], OU: ['Web'] }]));
    expect((await verdict(permitted, { subject: 'C=US, O=Acme+OU=Web, CN=ok' })).valid).toBe(true);
    expect((await verdict(permitted, { subject: new x509.Name([{ C: ['US'] }, { O: ['Acme+060355040b="web'] }, { CN: ['bypass'] }]).toString() })).valid).toBe(false);
  });
});
