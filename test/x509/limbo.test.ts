import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { ROOT } from '../support/processes.ts';

interface LimboCase {
  id: string;
  features: string[];
  conflicts_with: string[];
  validation_kind: 'SERVER' | 'CLIENT';
  trusted_certs: string[];
  untrusted_intermediates: string[];
  peer_certificate: string;
  validation_time: string | null;
  expected_result: 'SUCCESS' | 'FAILURE';
  expected_peer_name: { kind: string; value: string } | null;
  max_chain_depth: number | null;
}

const suite: { testcases: LimboCase[] } = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/limbo/limbo.json'), 'utf8'));

/**
 * Of two cases the suite marks as conflicting, the side certops does not take; they are not run.
 * A CA certificate in the end-entity position validates (RFC 5280 sets no rule there, and the
 * suite's pathlen::validation-ignores-pathlen-in-leaf relies on it); a server sending one gets
 * the high `ca-leaf` finding instead (CABF BR 7.1.2.7.8). Name constraints must be critical
 * (RFC 5280 4.2.1.10).
 */
const NOT_OUR_SIDE = new Set(['webpki::ca-as-leaf', 'webpki::nc::permitted-dns-match-noncritical']);

/** Where certops disagrees with the suite, and why. Every other case must agree. */
const DISAGREEMENTS: Record<string, string> = {
  'webpki::cn::not-in-san': 'a CN naming a host the SANs do not: certops never matches the CN, and the suite accepts CN=example.com beside other SANs in seven cases, so only a CN that respells a SAN is refused',
  'webpki::cn::punycode-not-in-san': 'the same: the CN is an A-label of another name, not a spelling of a SAN',
  'webpki::cn::utf8-vs-punycode-mismatch': 'the same: the CN\'s IDNA form (xn--test--gs1lv54n.com) is not the SAN, so it names another host',
};

/** The SERVER cases without pedantic or CRL features: the ones the issue sets the target on. */
const cases = suite.testcases.filter((t) => t.validation_kind === 'SERVER' && !t.features.some((f) => f.startsWith('pedantic') || f === 'has-crl') && !NOT_OUR_SIDE.has(t.id));

function verdictOf(t: LimboCase): boolean {
  try {
    return verifyPemChain({
      chainPem: [t.peer_certificate, ...t.untrusted_intermediates].join('\n'),
      rootsPem: t.trusted_certs.join('\n'),
      at: t.validation_time ? new Date(t.validation_time) : new Date(),
      host: t.expected_peer_name?.value,
      purpose: 'serverAuth',
      ...(t.max_chain_depth !== null ? { maxIntermediates: t.max_chain_depth } : {}),
    }).valid;
  } catch {
    return false;
  }
}

describe('x509-limbo (RFC 5280 6.1 path validation, CABF BR profile for serverAuth)', () => {
  it('agrees with the suite on every SERVER case but the listed disagreements', () => {
    const disagree = cases.filter((t) => verdictOf(t) !== (t.expected_result === 'SUCCESS')).map((t) => t.id);
    const agreement = (cases.length - disagree.length) / cases.length;
    console.log(`x509-limbo: ${cases.length - disagree.length}/${cases.length} agree (${(100 * agreement).toFixed(1)}%)`);
    expect(disagree.sort()).toEqual(Object.keys(DISAGREEMENTS).sort());
  });
});
