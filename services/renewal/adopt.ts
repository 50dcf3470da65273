import { ConflictError, NotFoundError } from '../../shared/errors.ts';
import { asObject, requiredString, stringList } from '../../shared/input.ts';
import type { CertificateAuthority, CertificateStore, Clock, RequestStore, TargetStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { RENEWAL } from './announcements.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import { checkSignature, type SigningConfig } from '../../shared/signing-policy.ts';
import { renewalSignature } from '../../shared/renewal-signature.ts';
import { ValidationError } from '../../shared/errors.ts';

/**
 * Takes a discovered certificate under management: from now on it is renewed through `issuer`
 * and deployed to `targets`, like one certops issued. What its renewals would be signed for must
 * pass the policy gate now (PolicyError, 403, with the reasons). Adopting it again with the same
 * choices changes nothing.
 */
export async function adopt(id: string, body: unknown, adoptedBy: string, deps: SigningConfig & AnnounceDeps & { clock: Clock; certificates: CertificateStore; targets: TargetStore; requests: Pick<RequestStore, 'get'>; authority(name: string): Promise<CertificateAuthority> }) {
  const obj = asObject(body);
  const issuer = requiredString(obj, 'issuer', 64);
  const targets = stringList(obj, 'targets');
  await deps.authority(issuer);
  for (const t of targets) if (!(await deps.targets.get(t))) throw new ValidationError(`target ${t} is not registered`, 'targets');
  const cert = await deps.certificates.get(id);
  if (!cert) throw new NotFoundError(`no certificate ${id}`, 'id');
  if (cert.status !== 'discovered' && cert.status !== 'active') throw new ConflictError(`certificate ${id} is ${cert.status}; only live certificates can be adopted`, 'id');
  await checkSignature(deps, renewalSignature(cert, deps), deps.requests);
  const merged = [...new Set([...cert.targets, ...targets])];
  const adopted = newEvent('certificate.adopted', { ...certificateFields(cert), adoptedBy, issuerBackend: issuer, targets: merged }, { now: () => deps.clock.now(), newId: () => `adopted:${id}:${issuer}:${merged.join(',')}`, correlationId: id });
  await announceAfter(RENEWAL, [adopted], () => deps.certificates.update(id, { status: 'active', issuerBackend: issuer, targets: merged }), deps);
  return { certificateId: id, status: 'active', issuer, targets: merged };
}
