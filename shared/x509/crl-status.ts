import type { ParsedCrl } from './crl.ts';
import { sameBytes } from './der.ts';
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
  at: Date;
}

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
  if (idp.relativeName) return "the CRL's distribution point is a name relative to its issuer, which certops cannot match (RFC 5280 5.2.5)";
  const pointers = [distributionPoint, ...certificate.extensions.crlUrls];
  if (idp.fullNameUris.length && !idp.fullNameUris.some((u) => pointers.includes(u))) {
    return `the CRL is for the distribution point ${idp.fullNameUris.join(', ')}, not the certificate's ${certificate.extensions.crlUrls.join(', ') || distributionPoint} (RFC 5280 6.3.3 (b)(2)(i))`;
  }
  return undefined;
}

/**
 * A certificate's status on a CRL (RFC 5280 6.3.3, for a complete CRL of the certificate's own
 * issuer): `revoked` when an authentic, current CRL that covers the certificate lists its serial;
 * `good` when such a CRL does not; `unknown` with the reason otherwise: a CRL not signed by the
 * issuer's key or issued under another name or key, an issuer without cRLSign, a CRL not current
 * at `at` (thisUpdate after it, or nextUpdate passed or absent), or a scope that leaves the
 * certificate out. A CRL listing only some reasons (onlySomeReasons) can say revoked, never good.
 * Serials compare exactly as ParsedCertificate.serialHex writes them, sign included.
 */
export function crlStatus(check: CrlCheck): SourceStatus {
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
  const reasons = crl.issuingDistributionPoint?.onlySomeReasons;
  if (reasons) return { status: 'unknown', why: `the certificate is not on a CRL that lists only revocations for ${reasons.join(', ')} (RFC 5280 5.2.5)` };
  return { status: 'good', source: 'crl', thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate.toISOString() };
}
