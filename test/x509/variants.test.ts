import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { beyondBounds } from '../../shared/x509/certificate-profile.ts';
import { ROOT } from '../support/processes.ts';

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
