import { colonHex } from '../x509/certificate-record.ts';
import type { ParsedCertificate } from '../x509/parse-certificate.ts';
import type { RevocationStatus } from '../x509/revocation-status.ts';

/**
 * What revocation adds to a chain verdict's reasons, one sentence per certificate of `path`
 * (leaf first, `statuses` in the same order) that is revoked (naming it, its serial, when and
 * why) or whose status could not be determined. Certificates certops did not check (a trust
 * anchor, one naming no revocation source) and good ones add nothing. certops fails closed: an
 * unknown status makes the chain not valid, as a revoked one does.
 */
export function revocationProblems(path: ParsedCertificate[], statuses: RevocationStatus[]): string[] {
  return path.flatMap((cert, i) => {
    const s = statuses[i];
    const who = `${i === 0 ? `the leaf (${cert.subject})` : cert.subject} (serial ${colonHex(cert.serialHex)})`;
    if (s?.status === 'revoked') return [`${who} is revoked: revoked on ${s.revokedAt} (${s.reason}), says ${s.source === 'ocsp' ? 'the OCSP responder' : 'the CRL'}${s.url ? ` ${s.url}` : ''}`];
    if (s?.status === 'unknown') return [`revocation unknown for ${who}: revocation could not be determined: ${s.why}`];
    return [];
  });
}
