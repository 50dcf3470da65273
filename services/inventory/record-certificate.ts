import type { EventDetail } from '../../shared/events/envelope.ts';
import type { CertificateStore, Clock } from '../../shared/ports.ts';
import type { CertificateSource, StoredCertificate } from '../../shared/model.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { certificateBlocks, toPem } from '../../shared/x509/pem.ts';
import { ownershipOf, type OwnershipRule } from '../../shared/ownership.ts';

export interface InventoryDeps {
  clock: Clock;
  certificates: CertificateStore;
  ownership: OwnershipRule[];
}

/** What a source knows of a certificate beyond its DER. */
export interface Sighting {
  source: CertificateSource;
  environment?: string;
  owner?: string;
  address?: string;
  chainPem?: string;
  acmArn?: string;
  issued?: Pick<StoredCertificate, 'issuerBackend' | 'profile' | 'keyRef' | 'requestId' | 'renewalOf' | 'targets'>;
}

const union = <T>(a: T[] | undefined, b: T[]) => [...new Set([...(a ?? []), ...b])];

/**
 * Puts a certificate in the one inventory, keyed by its fingerprint: the first sighting creates
 * it, later ones (another source, another endpoint) merge what they add. Idempotent.
 */
export async function recordCertificate(der: Uint8Array, sighting: Sighting, deps: InventoryDeps, field = 'certificate'): Promise<{ certificate: StoredCertificate; created: boolean }> {
  const record = certificateRecord(der, field);
  const mapped = ownershipOf(deps.ownership, record.subjectAlternativeNames.concat(record.commonName ?? []), sighting.address);
  const cert: StoredCertificate = {
    ...record,
    certificatePem: toPem(der),
    chainPem: sighting.chainPem ?? '',
    status: sighting.source === 'issued' ? 'active' : 'discovered',
    source: sighting.source,
    sources: [sighting.source],
    environment: sighting.environment ?? mapped.environment,
    owner: sighting.owner ?? mapped.owner,
    targets: [],
    ...(sighting.acmArn ? { acmArns: [sighting.acmArn] } : {}),
    ...sighting.issued,
    createdAt: deps.clock.now().toISOString(),
  };
  if (await deps.certificates.create(cert)) return { certificate: cert, created: true };
  const existing = (await deps.certificates.get(record.id))!;
  const merged: Partial<StoredCertificate> = {
    sources: union(existing.sources ?? [existing.source], [sighting.source]),
    ...(sighting.acmArn ? { acmArns: union(existing.acmArns, [sighting.acmArn]) } : {}),
    ...(!existing.environment && cert.environment ? { environment: cert.environment } : {}),
    ...(!existing.owner && cert.owner ? { owner: cert.owner } : {}),
    ...(!existing.chainPem && cert.chainPem ? { chainPem: cert.chainPem } : {}),
  };
  const changed = Object.entries(merged).some(([k, v]) => JSON.stringify(v) !== JSON.stringify(existing[k as keyof StoredCertificate]));
  if (changed) await deps.certificates.update(record.id, merged);
  return { certificate: { ...existing, ...merged }, created: false };
}

/** certificate.issued → an active certificate in the inventory. */
export async function recordIssued(detail: EventDetail, deps: InventoryDeps): Promise<void> {
  const der = certificateBlocks(String(detail.certificatePem ?? ''), 'certificatePem')[0];
  await recordCertificate(der, {
    source: 'issued',
    chainPem: String(detail.chainPem ?? ''),
    acmArn: detail.acmArn as string | undefined,
    environment: detail.environment as string | undefined,
    owner: detail.owner as string | undefined,
    issued: {
      issuerBackend: detail.issuerBackend as string | undefined,
      profile: detail.profile as StoredCertificate['profile'],
      keyRef: detail.keyRef as string | undefined,
      requestId: detail.requestId as string | undefined,
      renewalOf: detail.renewalOf as string | undefined,
      targets: (detail.targets as string[] | undefined) ?? [],
    },
  }, deps, 'certificatePem');
}

/** renewal.succeeded → the old certificate is superseded by the new one. Setting the same fields again is harmless. */
export async function recordRenewed(detail: EventDetail, deps: InventoryDeps): Promise<void> {
  await deps.certificates.update(String(detail.certificateId), { status: 'superseded', supersededBy: String(detail.newCertificateId) });
}
