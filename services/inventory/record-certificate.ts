import type { EventDetail } from '../../shared/events/envelope.ts';
import type { CertificateStore, Clock } from '../../shared/ports.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { certificateBlocks, toPem } from '../../shared/x509/pem.ts';

export interface InventoryDeps {
  clock: Clock;
  certificates: CertificateStore;
}

/** certificate.issued → an active certificate in the inventory. Idempotent: a replay finds it there and changes nothing. */
export async function recordIssued(detail: EventDetail, deps: InventoryDeps): Promise<void> {
  const pem = String(detail.certificatePem ?? '');
  const der = certificateBlocks(pem, 'certificatePem')[0];
  const cert: StoredCertificate = {
    ...certificateRecord(der, 'certificatePem'),
    certificatePem: toPem(der),
    status: 'active',
    source: 'issued',
    chainPem: String(detail.chainPem ?? ''),
    environment: detail.environment as string | undefined,
    owner: detail.owner as string | undefined,
    issuerBackend: detail.issuerBackend as string | undefined,
    profile: detail.profile as StoredCertificate['profile'],
    keyRef: detail.keyRef as string | undefined,
    requestId: detail.requestId as string | undefined,
    renewalOf: detail.renewalOf as string | undefined,
    targets: (detail.targets as string[] | undefined) ?? [],
    findings: [],
    endpoints: [],
    createdAt: deps.clock.now().toISOString(),
  };
  await deps.certificates.create(cert);
}

/** renewal.succeeded → the old certificate is superseded by the new one. Setting the same fields again is harmless. */
export async function recordRenewed(detail: EventDetail, deps: InventoryDeps): Promise<void> {
  await deps.certificates.update(String(detail.certificateId), { status: 'superseded', supersededBy: String(detail.newCertificateId) });
}
