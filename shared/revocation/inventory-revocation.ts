import type { CheckedRevocation, StoredCertificate } from '../model.ts';
import type { RevocationReason } from '../x509/crl-builder.ts';
import type { RevocationStatus } from '../x509/revocation-status.ts';

export type RevocationFacts = Partial<Pick<StoredCertificate, 'status' | 'revokedAt' | 'revocationReason' | 'revocation'>>;

/**
 * What the inventory knows of a certificate's revocation: revoked by certops itself (its own
 * records are the CA's), else what a scan last found at its CA's OCSP responder or CRL, else
 * not checked.
 */
export function knownRevocation(c: RevocationFacts): RevocationStatus | CheckedRevocation {
  if (c.status === 'revoked' && c.revokedAt) return { status: 'revoked', source: 'certops', revokedAt: c.revokedAt, reason: (c.revocationReason ?? 'unspecified') as RevocationReason };
  return c.revocation ?? { status: 'not-checked', why: 'no scan has checked it at its CA yet' };
}
