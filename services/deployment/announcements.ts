import type { Proofs } from '../../shared/announce.ts';
import type { CertificateStore, TargetStore } from '../../shared/ports.ts';

/** The deployment service's partition of the announcement ledger. */
export const DEPLOYMENT = 'deployment';

/** Whether what a deployment intent announces is in the store. */
export const deploymentProofs: Proofs<{ targets: TargetStore; certificates: CertificateStore }> = {
  // Registered again since: the later registration is the one on the record.
  'target.registered': async (e, deps) => (await deps.targets.get(String(e.detail.target)))?.registeredAt === e.detail.occurredAt,
  // Registered again since: the removal still happened, and the later registration has its own record.
  'target.removed': async (e, deps) => {
    const now = await deps.targets.get(String(e.detail.target));
    return now === undefined || (now.registeredAt ?? '') > String(e.detail.occurredAt);
  },
  'certificate.targets_attached': async (e, deps) => {
    const cert = await deps.certificates.get(String(e.detail.certificateId));
    return cert !== undefined && (e.detail.added as string[]).every((name) => cert.targets.includes(name));
  },
};
