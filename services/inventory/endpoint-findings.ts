import type { Finding } from '../../shared/model.ts';
import type { ChainLink, ChainVerdict } from '../../shared/x509/chain-validation.ts';

const WEAK_CIPHER = /(^|[-_])(RC4|DES|3DES|DES-CBC3|NULL|EXPORT|EXP|ADH|AECDH|anon|MD5)([-_]|$)/i;

/** What a scan found wrong with how an endpoint serves its certificate (the certificate's own faults are judged elsewhere). */
export function endpointFindings(verdict: ChainVerdict, served: { chainFingerprints?: string[]; protocol?: string; cipher?: string; legacyProtocols?: boolean; serverName?: string }): Finding[] {
  const out: Finding[] = [];
  const order = served.chainFingerprints && outOfOrder(served.chainFingerprints, verdict.path);
  if (order) out.push({ id: 'chain-out-of-order', severity: 'low', message: order });
  for (const reason of verdict.reasons) {
    if (reason.startsWith('incomplete chain')) out.push({ id: 'incomplete-chain', severity: 'high', message: `${reason}: serve the intermediate certificates too` });
    else if (reason.startsWith('untrusted root')) out.push({ id: 'untrusted-root', severity: 'high', message: `${reason}: clients will refuse it` });
    else if (reason.startsWith('hostname mismatch')) out.push({ id: 'hostname-mismatch', severity: 'high', message: reason });
    // The leaf's own faults are the certificate's findings; whatever else fails the chain (an expired or
    // constrained intermediate, a CA profile fault) is the endpoint's.
    else if (!reason.startsWith('the leaf') && !reason.startsWith('path building gave up')) out.push({ id: 'chain-invalid', severity: 'high', message: `${reason}: clients will refuse the chain` });
  }
  if (served.legacyProtocols) out.push({ id: 'legacy-tls', severity: 'medium', message: 'accepts TLS 1.0 or 1.1: disable them, TLS 1.2 is the oldest version still safe' });
  if (served.cipher && WEAK_CIPHER.test(served.cipher)) out.push({ id: 'weak-cipher', severity: 'high', message: `negotiated ${served.cipher}, a weak cipher: allow only AEAD suites` });
  return out;
}

/**
 * TLS 1.2 asks each certificate after the leaf to certify the one before it (RFC 5246 7.4.2); TLS 1.3
 * asks clients to cope with any order after the leaf (RFC 8446 4.4.2), and most do, so a complete
 * chain sent in another order is a warning naming the order to send, not an incomplete chain.
 * @param served SHA-256 fingerprints in the order the server sent them, leaf first.
 * @param path the validated path, leaf first.
 * @returns the finding's message, or undefined when the served certificates lead the path in its order.
 */
function outOfOrder(served: string[], path: ChainLink[]): string | undefined {
  const wanted = path.filter((link) => served.includes(link.fingerprintSha256));
  if (wanted.every((link, i) => served[i] === link.fingerprintSha256)) return undefined;
  const name = (fingerprint: string) => path.find((link) => link.fingerprintSha256 === fingerprint)?.subject ?? 'a certificate outside the path';
  return `chain served out of order: after the leaf it sends ${served.slice(1).map(name).join(' then ')}; TLS 1.2 clients expect each certificate followed by its issuer: send ${wanted.slice(1).map((l) => l.subject).join(' then ')}`;
}
