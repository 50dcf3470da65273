import type { CertificateStore, Clock } from '../../shared/ports.ts';
import type { CertificateSource, StoredCertificate } from '../../shared/model.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { toPem } from '../../shared/x509/pem.ts';
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
    status: 'discovered',
    source: sighting.source,
    sources: [sighting.source],
    environment: sighting.environment ?? mapped.environment,
    owner: sighting.owner ?? mapped.owner,
    targets: [],
    ...(sighting.acmArn ? { acmArns: [sighting.acmArn] } : {}),
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
