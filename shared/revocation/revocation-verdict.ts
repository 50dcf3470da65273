import type { ChainLink, ChainVerdict } from '../x509/chain-validation.ts';
import { colonHex } from '../x509/certificate-record.ts';
import type { ParsedCertificate } from '../x509/parse-certificate.ts';
import type { RevocationStatus } from '../x509/revocation-status.ts';

/** A chain verdict once revocation was checked: each link of the path carries its certificate's status. */
export interface RevocationVerdict extends ChainVerdict {
  path: (ChainLink & { revocation: RevocationStatus })[];
}

/**
 * One sentence per certificate of `path` (leaf first, `statuses` in the same order) that is
 * revoked, naming it, its serial, when and why, or whose status could not be determined.
 */
function revocationProblems(path: ParsedCertificate[], statuses: RevocationStatus[]): string[] {
  return path.flatMap((cert, i) => {
    const s = statuses[i];
    const who = `${i === 0 ? `the leaf (${cert.subject})` : cert.subject} (serial ${colonHex(cert.serialHex)})`;
    if (s?.status === 'revoked') return [`${who} is revoked: revoked on ${s.revokedAt} (${s.reason}), says ${s.source === 'ocsp' ? 'the OCSP responder' : 'the CRL'}${s.url ? ` ${s.url}` : ''}`];
    if (s?.status === 'unknown') return [`revocation unknown for ${who}: revocation could not be determined: ${s.why}`];
    return [];
  });
}

/**
 * `verdict` (over `certificates`, its path) with revocation taken into account: a revoked
 * certificate, or one whose status could not be determined, makes the chain not valid, with a
 * reason each; certificates certops did not check (a trust anchor, one naming no revocation
 * source) and good ones add nothing. certops fails closed: unknown is not valid, as revoked is not.
 */
export function withRevocation(verdict: ChainVerdict, certificates: ParsedCertificate[], statuses: RevocationStatus[]): RevocationVerdict {
  const problems = revocationProblems(certificates, statuses);
  return {
    valid: verdict.valid && problems.length === 0,
    reasons: [...verdict.reasons, ...problems],
    path: verdict.path.map((link, i) => ({ ...link, revocation: statuses[i] })),
  };
}
