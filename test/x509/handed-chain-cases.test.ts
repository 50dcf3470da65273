import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { ROOT } from '../support/processes.ts';

const AT = new Date('2026-12-15T00:00:00Z');
const verdict = (name: string, host: string) => {
  const dir = join(ROOT, 'test/fixtures/x509-cases', name);
  return verifyPemChain({ chainPem: readFileSync(join(dir, 'chain.pem'), 'utf8'), rootsPem: readFileSync(join(dir, 'roots.pem'), 'utf8'), at: AT, host, purpose: 'serverAuth' });
};

/** The handed chain-validation cases (test/fixtures/x509-cases/SOURCE.md), each with the right answer. */
describe('chain validation on the handed cases', () => {
  it('never matches a host against the CN, so a CN outside the name constraints grants nothing (RFC 9525 6.4.4)', () => {
    const v = verdict('02-cn-fallback-name-constraints', 'www.example.org');
    expect(v.valid).toBe(false);
    expect(v.reasons.join()).toMatch(/the CN is not a host name/);
  });

  it('applies IPv6 name constraints: an excluded ::/0 excludes every IPv6 address (RFC 5280 4.2.1.10)', () => {
    const v = verdict('03-ipv6-excluded-all', '2001:db8::1');
    expect(v.valid).toBe(false);
    expect(v.reasons.join()).toMatch(/2001:db8::1 .*excluded/);
  });

  it('refuses a dNSName with a trailing dot as malformed, and it does not escape an excluded subtree (RFC 5280 4.2.1.6)', () => {
    const v = verdict('06-trailing-dot-san', 'www.example.org');
    expect(v.valid).toBe(false);
    expect(v.reasons.join()).toMatch(/malformed dNSName "www.example.org."/);
    expect(v.reasons.join()).toMatch(/excluded by the name constraints/);
  });

  it('refuses a certificate with two subjectAltName extensions (RFC 5280 4.2)', () => {
    expect(verdict('08-duplicate-san', 'www.example.com').reasons.join()).toMatch(/subjectAltName extension more than once/);
  });

  it('refuses a CT precertificate for serverAuth (RFC 6962 3.1)', () => {
    expect(verdict('09-precertificate', 'www.example.com').reasons.join()).toMatch(/precertificate/);
  });

  it('ends the path at the trust store\'s anchor, not at a served, expired cross-signed copy of it (RFC 5280 6.1.1 (d))', () => {
    const v = verdict('10-expired-cross-signed-anchor', 'www.example.com');
    expect(v).toMatchObject({ valid: true, reasons: [] });
    expect(v.path.at(-1)!.subject).toMatch(/Example Root X1/);
  });
});
