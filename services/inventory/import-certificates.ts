import { newEvent, certificateFields } from '../../shared/events/envelope.ts';
import { asObject, optionalString, requiredString } from '../../shared/input.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { EventPublisher } from '../../shared/ports.ts';
import { certificateFindings } from '../../shared/findings/certificate-findings.ts';
import { pemBlocks } from '../../shared/x509/pem.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { beyondBounds } from '../../shared/x509/certificate-profile.ts';
import { inventoriable, parseInventoriable, recordCertificate, type InventoryDeps, type Sighting } from './record-certificate.ts';

export interface DiscoveryDeps extends InventoryDeps {
  publisher: EventPublisher;
}

export interface ImportResult {
  imported: { id: string; subject: string; created: boolean }[];
  rejected: { block: number; reason: string }[];
  /** Private key blocks found in the input: never stored, never logged, only counted. */
  ignoredPrivateKeys: number;
}

/** Events for a certificate seen for the first time: certificate.discovered, and finding.raised for what is wrong with it. */
export async function announceDiscovery(cert: StoredCertificate, sighting: Sighting & { host?: string; port?: number; discoveredBy?: string }, deps: DiscoveryDeps): Promise<void> {
  const ctx = (id: string) => ({ now: () => deps.clock.now(), newId: () => id });
  const events = [newEvent('certificate.discovered', { ...certificateFields(cert), discoverySource: sighting.source, host: sighting.host, port: sighting.port, discoveredBy: sighting.discoveredBy }, ctx(`discovered:${cert.id}`))];
  for (const f of certificateFindings(cert, { now: deps.clock.now(), tlsServer: sighting.host !== undefined })) {
    if (f.severity === 'info' || f.severity === 'low') continue;
    events.push(newEvent('finding.raised', { ...certificateFields(cert), findingId: f.id, severity: f.severity, message: f.message }, ctx(`finding:${cert.id}:${f.id}`)));
  }
  await deps.publisher.publish(events);
}

/** The subjectAltNames of all certificates of one import, at most (a few seconds of writes). */
export const MAX_IMPORT_NAMES = 20_000;

/** How many names a certificate brings (0 for one that does not parse: it is refused on its own later). */
function namesIn(der: Uint8Array): number {
  try {
    return inventoriable(der, 'pem').subjectAlternativeNames.length;
  } catch {
    return 0;
  }
}

/**
 * Refuses, as a ValidationError on `field`, a certificate no conforming CA issues by its sizes
 * (see beyondBounds): in someone's files such a certificate is a mistake or a probe. Scans and CT
 * still record what they see; the store keeps keys of any size within DynamoDB's limits.
 */
function refuseBeyondBounds(der: Uint8Array, field: string): void {
  const problems = beyondBounds(parseInventoriable(der, field));
  if (problems.length) throw new ValidationError(`${field}: the certificate carries ${problems.join(', ')}; certops imports only what a conforming CA could issue`, field);
}

/** One import takes at most this many certificates (a few seconds of writes): more go in more requests (the CLI sends 200 a time). */
export const MAX_IMPORT_CERTIFICATES = 1000;

/**
 * POST /imports: every certificate in the PEM text goes into the inventory; malformed ones are
 * reported, not fatal. Who imported it is named in certificate.discovered (`discoveredBy`).
 */
export async function importPem(body: unknown, caller: { name: string }, deps: DiscoveryDeps): Promise<ImportResult> {
  const obj = asObject(body);
  const text = requiredString(obj, 'pem', 5 * 1024 * 1024);
  const environment = optionalString(obj, 'environment', 64);
  const owner = optionalString(obj, 'owner', 128);
  const blocks = pemBlocks(text);
  const result: ImportResult = { imported: [], rejected: [], ignoredPrivateKeys: blocks.filter((b) => /PRIVATE KEY/.test(b.label)).length };
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
  if (certs.length === 0) result.rejected.push({ block: 0, reason: 'pem holds no CERTIFICATE block' });
  if (certs.length > MAX_IMPORT_CERTIFICATES) throw new ValidationError(`pem holds ${certs.length} certificates, at most ${MAX_IMPORT_CERTIFICATES} in one import; send the rest in another`, 'pem');
  // Each name is a pointer to write: the whole import is bounded before anything is written.
  const names = certs.reduce((sum, block) => sum + namesIn(block.der), 0);
  if (names > MAX_IMPORT_NAMES) throw new ValidationError(`pem names ${names} subjectAltNames in all, at most ${MAX_IMPORT_NAMES} in one import; send fewer certificates at a time`, 'pem');
  for (const [i, block] of certs.entries()) {
    try {
      const sighting: Sighting = { source: 'import', environment, owner };
      refuseBeyondBounds(block.der, `pem block ${i + 1}`);
      const { certificate, created } = await recordCertificate(block.der, sighting, deps, `pem block ${i + 1}`);
      if (created) await announceDiscovery(certificate, { ...sighting, discoveredBy: caller.name }, deps);
      result.imported.push({ id: certificate.id, subject: certificate.subject, created });
    } catch (err) {
      if ((err as { status?: number }).status !== 400) throw err;
      result.rejected.push({ block: i + 1, reason: (err as Error).message });
    }
  }
  return result;
}
