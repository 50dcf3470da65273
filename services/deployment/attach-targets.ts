import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateStore, Clock, TargetStore } from '../../shared/ports.ts';
import { DEPLOYMENT } from './announcements.ts';

/**
 * Attaches registered targets to a certificate (its renewals deploy there too) and says so
 * (certificate.targets_attached). NotFoundError for an unknown certificate (field id),
 * ValidationError for a target not registered (field targets).
 * @returns the certificate as it was, and its targets now.
 */
export async function attachTargets(certificateId: string, names: string[], attachedBy: string, deps: AnnounceDeps & { clock: Clock; newId(): string; certificates: CertificateStore; targets: TargetStore }): Promise<{ cert: StoredCertificate; targets: string[] }> {
  if (names.length === 0) throw new ValidationError('targets must name at least one target', 'targets');
  // The targets change only from the list read (another attachment or a removal may have changed it since): read again and retry.
  for (let attempt = 1; ; attempt++) {
    const cert = await deps.certificates.get(certificateId);
    if (!cert) throw new NotFoundError(`no certificate ${certificateId}`, 'id');
    for (const name of names) if (!(await deps.targets.get(name))) throw new ValidationError(`target ${name} is not registered`, 'targets');
    const targets = [...new Set([...cert.targets, ...names])];
    const attached = newEvent('certificate.targets_attached', { ...certificateFields(cert), attachedBy, targets, added: names.filter((n) => !cert.targets.includes(n)) }, { now: () => deps.clock.now(), newId: deps.newId, correlationId: cert.id });
    if (await announceAfter(DEPLOYMENT, [attached], () => deps.certificates.replaceTargets(cert.id, cert.targets, targets), deps)) return { cert, targets };
    if (attempt === MAX_ATTEMPTS) throw new ConflictError(`the targets of ${certificateId} kept changing while attaching; try again`, 'targets');
  }
}

const MAX_ATTEMPTS = 5;
