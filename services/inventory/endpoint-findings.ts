import type { Finding } from '../../shared/model.ts';
import type { ChainVerdict } from '../../shared/x509/chain-validation.ts';

const WEAK_CIPHER = /(^|[-_])(RC4|DES|3DES|DES-CBC3|NULL|EXPORT|EXP|ADH|AECDH|anon|MD5)([-_]|$)/i;

/** What a scan found wrong with how an endpoint serves its certificate (the certificate's own faults are judged elsewhere). */
export function endpointFindings(verdict: ChainVerdict, served: { protocol?: string; cipher?: string; legacyProtocols?: boolean; serverName?: string }): Finding[] {
  const out: Finding[] = [];
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
