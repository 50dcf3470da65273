import { newEvent } from '../../shared/events/envelope.ts';
import { NotFoundError } from '../../shared/errors.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateStore, Clock, TargetStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { DEPLOYMENT } from './announcements.ts';

/** What a removal does, or would do with `dryRun`: the certificates that stop deploying there. */
export interface TargetRemoval {
  target: string;
  dryRun: boolean;
  detachedFrom: { certificateId: string; subject: string; status: string }[];
}

/** The certificates in use (active or discovered) that deploy to `name`, read a page at a time. */
async function certificatesDeployingTo(name: string, certificates: CertificateStore): Promise<StoredCertificate[]> {
  const found: StoredCertificate[] = [];
  for (const status of ['active', 'discovered']) {
    let nextToken: string | undefined;
    do {
      const page = await certificates.list({ status }, 500, nextToken);
      found.push(...page.items.filter((c) => c.targets.includes(name)));
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return found;
}

/**
 * Removes a deployment target and says so (target.removed): the certificates that deployed there
 * stop doing so first, then the target goes, so a removal cut short leaves the target in place
 * and removing it again finishes the job. `dryRun` reads and changes nothing.
 * @throws NotFoundError (field `name`) when no target has that name.
 */
export async function removeTarget(name: string, dryRun: boolean, removedBy: string, deps: AnnounceDeps & { clock: Clock; newId(): string; targets: TargetStore; certificates: CertificateStore }): Promise<TargetRemoval> {
  const target = await deps.targets.get(name);
  if (!target) throw new NotFoundError(`no target ${name}`, 'name');
  const deploying = await certificatesDeployingTo(name, deps.certificates);
  const removal: TargetRemoval = { target: name, dryRun, detachedFrom: deploying.map((c) => ({ certificateId: c.id, subject: c.subject, status: c.status })) };
  if (dryRun) return removal;
  const removed = newEvent('target.removed', { target: name, targetType: target.type, removedBy, detachedFrom: deploying.map((c) => c.id) }, { now: () => deps.clock.now(), newId: deps.newId });
  await announceAfter(DEPLOYMENT, [removed], async () => {
    for (const c of deploying) await detach(c, name, deps.certificates);
    await deps.targets.remove(name);
  }, deps);
  return removal;
}

/** Takes `name` out of the certificate's targets, from the list as it is now (an attachment at the same moment keeps its own change). */
async function detach(cert: StoredCertificate, name: string, certificates: CertificateStore): Promise<void> {
  for (let current: StoredCertificate | undefined = cert; current?.targets.includes(name);) {
    if (await certificates.replaceTargets(current.id, current.targets, current.targets.filter((t) => t !== name))) return;
    current = await certificates.get(current.id);
  }
}
