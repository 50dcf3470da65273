import type { Proofs } from '../../shared/announce.ts';
import type { CertificateStore } from '../../shared/ports.ts';

/** The renewal service's partition of the announcement ledger. */
export const RENEWAL = 'renewal';

/** Whether the state an intent announces is the stored one. */
export const renewalProofs: Proofs<{ certificates: CertificateStore }> = {
  'certificate.adopted': async (e, deps) => {
    const cert = await deps.certificates.get(String(e.detail.certificateId));
    return cert !== undefined && cert.issuerBackend === e.detail.issuerBackend && (e.detail.targets as string[]).every((t) => cert.targets.includes(t));
  },
};
