import type { RevocationReason } from './crl-builder.ts';
import type { ParsedCrl } from './crl.ts';
import { sameBytes } from './der.ts';
import { ALL_REASONS } from './distribution-point.ts';
import type { ParsedCertificate } from './parse-certificate.ts';
import { stalenessProblem, type SourceStatus } from './revocation-status.ts';
import { signatureVerifies } from './signature.ts';

export interface CrlCheck {
  crl: ParsedCrl;
  /** The certificate whose status is wanted, and the CA certificate that issued it (its issuer in a built path). */
  certificate: ParsedCertificate;
  issuer: ParsedCertificate;
  /** The URL the CRL was fetched from: one of the certificate's cRLDistributionPoints. */
  distributionPoint: string;
  /** The reasons that distribution point says its CRL covers (RFC 5280 4.2.1.13); absent, every reason. */
  reasons?: RevocationReason[];
  at: Date;
}

/**
 * A CRL that does not list the certificate, and the revocation reasons for which that means
 * something (RFC 5280 6.3.3 (d)'s interim_reasons_mask); `url` where it was fetched from.
 */
export interface NotListed {
  status: 'not-listed';
  reasons: RevocationReason[];
  thisUpdate: string;
  nextUpdate: string;
  url?: string;
}

/** What one CRL says of a certificate: revoked, unknown with the reason, or not listed for some reasons. */
export type CrlFinding = Exclude<SourceStatus, { status: 'good' }> | NotListed;

/** Why the CRL cannot speak for the certificate at all (RFC 5280 6.3.3 (b), (f), (g)), or undefined when it can. */
function trustProblem({ crl, certificate, issuer }: CrlCheck): string | undefined {
  if (!sameBytes(certificate.issuerDer, issuer.subjectDer)) return `${issuer.subject} is not the certificate's issuer (${certificate.issuer})`;
  // Names compare byte for byte, as path building compares them.
  if (!sameBytes(crl.issuerDer, issuer.subjectDer)) return `the CRL is issued by ${crl.issuer}, not by the certificate's issuer ${issuer.subject}`;
  const ski = issuer.extensions.subjectKeyId;
  if (crl.authorityKeyId && ski && crl.authorityKeyId !== ski) return `the CRL names the key ${crl.authorityKeyId}, not the issuer's key ${ski}`;
  const ku = issuer.extensions.keyUsage;
  if (ku && !ku.includes('cRLSign')) return `the issuer ${issuer.subject} may not sign CRLs: its key usage lacks cRLSign (RFC 5280 4.2.1.3)`;
  if (!signatureVerifies(crl.signatureAlgorithm, crl.tbsDer, crl.signature, issuer.spkiDer)) return `the CRL's signature does not verify with the key of ${issuer.subject}`;
  return undefined;
}

/** Why the CRL does not cover the certificate (its issuingDistributionPoint, RFC 5280 5.2.5 and 6.3.3 (b)(2)), or undefined. */
function scopeProblem({ crl, certificate, distributionPoint }: CrlCheck): string | undefined {
  const idp = crl.issuingDistributionPoint;
  if (!idp) return undefined;
  if (idp.indirectCRL) return 'the CRL is an indirect CRL, which certops does not process (RFC 5280 5.2.5)';
  if (idp.onlyContainsAttributeCerts) return 'the CRL lists attribute certificates only (RFC 5280 5.2.5)';
  const isCa = certificate.extensions.basicConstraints?.ca === true;
  if (idp.onlyContainsUserCerts && isCa) return 'the CRL lists end-entity certificates only, and this is a CA certificate (RFC 5280 5.2.5)';
  if (idp.onlyContainsCACerts && !isCa) return 'the CRL lists CA certificates only, and this is an end-entity certificate (RFC 5280 5.2.5)';
  const pointers = [distributionPoint, ...certificate.extensions.crlUrls];
  const name = idp.distributionPoint;
  // Only URIs can be matched: a CRL for a point named otherwise cannot be shown to be this certificate's.
  if (!name || name.uris.some((u) => pointers.includes(u))) return undefined;
  return `the CRL is for the distribution point ${[...name.uris, ...name.others].join(', ')}, not the certificate's ${certificate.extensions.crlUrls.join(', ') || distributionPoint} (RFC 5280 6.3.3 (b)(2)(i))`;
}

/** The reasons both the distribution point and the CRL's onlySomeReasons cover (RFC 5280 6.3.3 (d)). */
function coveredReasons({ crl, reasons }: CrlCheck): RevocationReason[] {
  const listed = crl.issuingDistributionPoint?.onlySomeReasons ?? ALL_REASONS;
  return listed.filter((r) => (reasons ?? ALL_REASONS).includes(r));
}

/**
 * What a CRL says of a certificate (RFC 5280 6.3.3, for a complete CRL of the certificate's own
 * issuer): `revoked` when an authentic, current CRL that covers the certificate lists its serial,
 * whatever reasons the CRL is for; `not-listed` with the reasons it covers when such a CRL does not;
 * `unknown` with the reason otherwise: a CRL not signed by the issuer's key or issued under another
 * name or key, an issuer without cRLSign, a CRL not current at `at` (thisUpdate after it, or
 * nextUpdate passed or absent), or a scope that leaves the certificate out. Serials compare exactly
 * as ParsedCertificate.serialHex writes them, sign included.
 */
export function crlFinding(check: CrlCheck): CrlFinding {
  const { crl, certificate, at } = check;
  const untrusted = trustProblem(check);
  if (untrusted) return { status: 'unknown', why: `CRL not trusted: ${untrusted}` };
  if (!crl.nextUpdate) return { status: 'unknown', why: 'the CRL has no nextUpdate, so whether it is current cannot be told (RFC 5280 5.1.2.5)' };
  const stale = stalenessProblem('the CRL', crl.thisUpdate, crl.nextUpdate, at);
  if (stale) return { status: 'unknown', why: stale };
  const outOfScope = scopeProblem(check);
  if (outOfScope) return { status: 'unknown', why: outOfScope };
  const entry = crl.revoked.get(certificate.serialHex);
  if (entry) return { status: 'revoked', source: 'crl', revokedAt: entry.revocationDate.toISOString(), reason: entry.reason };
  return { status: 'not-listed', reasons: coveredReasons(check), thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate.toISOString() };
}

const earliest = (times: string[]) => times.reduce((a, b) => (a < b ? a : b));

/**
 * What CRLs that do not list a certificate say together: `good` once the reasons they cover make
 * all reasons (RFC 5280 6.3.3 (i)), current until the first of them expires; else `unknown`,
 * since a revocation for a reason none covers would be on none of them.
 */
export function notListedStatus(findings: NotListed[]): SourceStatus {
  const urls = findings.flatMap((f) => (f.url ? [f.url] : []));
  const covered = new Set(findings.flatMap((f) => f.reasons));
  const missing = ALL_REASONS.filter((r) => !covered.has(r));
  if (missing.length) {
    const which = `the CRL${findings.length > 1 ? 's' : ''} not listing the certificate${urls.length ? ` (${urls.join(', ')})` : ''}`;
    return { status: 'unknown', why: `${which} ${findings.length > 1 ? 'cover' : 'covers'} only revocations for ${[...covered].join(', ') || 'no reason'}: none says whether it was revoked for ${missing.join(', ')} (RFC 5280 6.3.3 (d), (i))` };
  }
  return {
    status: 'good', source: 'crl', ...(urls.length ? { url: urls.join(', ') } : {}),
    thisUpdate: earliest(findings.map((f) => f.thisUpdate)), nextUpdate: earliest(findings.map((f) => f.nextUpdate)),
  };
}

/** A certificate's status on one CRL (see crlFinding): not listed is `good` only when the CRL covers every reason. */
export function crlStatus(check: CrlCheck): SourceStatus {
  const finding = crlFinding(check);
  return finding.status === 'not-listed' ? notListedStatus([finding]) : finding;
}
