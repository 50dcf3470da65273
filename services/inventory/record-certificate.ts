import type { CertificateStore, Clock } from '../../shared/ports.ts';
import type { CertificateSource, StoredCertificate } from '../../shared/model.ts';
import { recordOf } from '../../shared/x509/certificate-record.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { repeatedExtensions } from '../../shared/x509/certificate-profile.ts';
import { ValidationError } from '../../shared/errors.ts';
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

/** Real certificates stay far below these; an item in the table holds at most 400 KB, and each name is a pointer to write. */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;
export const MAX_CERTIFICATE_NAMES = 1000;

/**
 * The certificate parsed, or a ValidationError naming `field` when it is too big to keep or
 * malformed: a repeated extension included (RFC 5280 4.2), since a record would hold one copy's
 * names and another system the other's.
 */
export function parseInventoriable(der: Uint8Array, field: string): ParsedCertificate {
  if (der.length > MAX_CERTIFICATE_BYTES) throw new ValidationError(`${field}: the certificate is ${der.length} bytes, over the ${MAX_CERTIFICATE_BYTES} certops keeps`, field);
  const parsed = parseCertificate(der, field);
  const repeated = repeatedExtensions(parsed);
  if (repeated.length) throw new ValidationError(`${field}: the certificate carries the ${repeated.join(' and ')} extension more than once (RFC 5280 4.2: MUST NOT)`, field);
  return parsed;
}

/** The certificate's record, or a ValidationError naming `field` (see parseInventoriable; too many names too). */
export function inventoriable(der: Uint8Array, field: string) {
  const record = recordOf(parseInventoriable(der, field));
  if (record.subjectAlternativeNames.length > MAX_CERTIFICATE_NAMES) throw new ValidationError(`${field}: the certificate names ${record.subjectAlternativeNames.length} subjectAltNames, over the ${MAX_CERTIFICATE_NAMES} certops keeps`, field);
  return record;
}

const union = <T>(a: T[] | undefined, b: T[]) => [...new Set([...(a ?? []), ...b])];

/**
 * Puts a certificate in the one inventory, keyed by its fingerprint: the first sighting creates
 * it, later ones (another source, another endpoint) add where it was seen. What a caller says of
 * environment and owner counts at the first sighting only: whoever imports a certificate later
 * cannot relabel one that is known; a later sighting fills them only from the ownership rules
 * (an address in a configured range), and only where they are unset. A label the rules contradict
 * is a ValidationError on `environment` or `owner`. Idempotent.
 */
export async function recordCertificate(der: Uint8Array, sighting: Sighting, deps: InventoryDeps, field = 'certificate'): Promise<{ certificate: StoredCertificate; created: boolean }> {
  const record = inventoriable(der, field);
  const mapped = ownershipOf(deps.ownership, record.subjectAlternativeNames.concat(record.commonName ?? []), sighting.address);
  // A label the ownership rules contradict would put the certificate under another team's view and policy.
  for (const field of ['environment', 'owner'] as const) {
    if (sighting[field] && mapped[field] && sighting[field] !== mapped[field]) throw new ValidationError(`${field}: the certificate's names belong to ${mapped[field]} (inventory.ownership), not ${sighting[field]}`, field);
  }
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
    ...(!existing.chainPem && cert.chainPem ? { chainPem: cert.chainPem } : {}),
    ...(!existing.environment && mapped.environment ? { environment: mapped.environment } : {}),
    ...(!existing.owner && mapped.owner ? { owner: mapped.owner } : {}),
  };
  const changed = Object.entries(merged).some(([k, v]) => JSON.stringify(v) !== JSON.stringify(existing[k as keyof StoredCertificate]));
  if (changed) await deps.certificates.update(record.id, merged);
  return { certificate: { ...existing, ...merged }, created: false };
}
