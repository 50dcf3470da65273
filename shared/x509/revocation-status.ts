import { REVOCATION_REASONS, type RevocationReason } from './crl-builder.ts';

/** Where a revocation status came from: a CRL (RFC 5280 5), an OCSP responder (RFC 6960), or certops' own records of what it revoked. */
export type RevocationSource = 'crl' | 'ocsp' | 'certops';

/**
 * What is known of one certificate's revocation. `good` and `revoked` come only from revocation
 * data that was authenticated and current; everything else is `unknown` with the reason (never
 * `good`). `not-checked` says no check was made, and why. Times are ISO 8601 UTC.
 */
export type RevocationStatus =
  | { status: 'good'; source: RevocationSource; url?: string; thisUpdate: string; nextUpdate?: string }
  | { status: 'revoked'; source: RevocationSource; url?: string; revokedAt: string; reason: RevocationReason }
  | { status: 'unknown'; why: string }
  | { status: 'not-checked'; why: string };

/** What one source of revocation data can say: good, revoked, or unknown with the reason. */
export type SourceStatus = Exclude<RevocationStatus, { status: 'not-checked' }>;

const REASON_NAMES = new Map(Object.entries(REVOCATION_REASONS).map(([name, code]) => [code as number, name as RevocationReason]));

/** The CRLReason (RFC 5280 5.3.1) named by its ENUMERATED value; undefined for 7 and values past 10, which no reason has. */
export function revocationReasonName(code: number): RevocationReason | undefined {
  return REASON_NAMES.get(code);
}

/** The one line a person reads: "good (OCSP http://...)", "revoked on 2025-01-02T03:04:05.000Z (keyCompromise, CRL ...)", "unknown: why". */
export function describeRevocation(s: RevocationStatus): string {
  const from = (source: RevocationSource, url?: string) => `${source === 'certops' ? "certops' records" : source.toUpperCase()}${url ? ` ${url}` : ''}`;
  switch (s.status) {
    case 'good': return `good (${from(s.source, s.url)}, current until ${s.nextUpdate ?? 'a newer answer is fetched'})`;
    case 'revoked': return `revoked on ${s.revokedAt} (${s.reason}; ${from(s.source, s.url)})`;
    case 'unknown': return `unknown: ${s.why}`;
    case 'not-checked': return `not checked: ${s.why}`;
  }
}

/**
 * How far a thisUpdate may lie after the time of the check: a responder signs its answer with its
 * own clock, which may run a little ahead of ours, and a fresh answer must not look future-dated.
 */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Why revocation data is not current at `at` (thisUpdate <= at < nextUpdate, RFC 5280 6.3.3 (a), RFC 6960 3.2), or undefined when it is. */
export function stalenessProblem(what: string, thisUpdate: Date, nextUpdate: Date | undefined, at: Date): string | undefined {
  if (thisUpdate.getTime() > at.getTime() + CLOCK_SKEW_MS) return `${what} is dated in the future (thisUpdate ${thisUpdate.toISOString()})`;
  if (!nextUpdate) return undefined;
  if (at.getTime() >= nextUpdate.getTime()) return `${what} is stale: its nextUpdate ${nextUpdate.toISOString()} has passed`;
  return undefined;
}
