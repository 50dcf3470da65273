import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import { asObject, optionalBoolean, optionalString } from '../../shared/input.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateAuthority, CertificateStore, Clock } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import type { BusEvent } from '../../shared/events/envelope.ts';
import { ISSUANCE } from './announcements.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../shared/x509/crl-builder.ts';

export interface RevocationDeps extends AnnounceDeps {
  clock: Clock;
  certificates: CertificateStore;
  authority(name: string): Promise<CertificateAuthority>;
}

/**
 * Reasons a revocation may give (RFC 5280 5.3.1). certops' revocations are final: certificateHold
 * (which is undone) and removeFromCRL (which undoes one, and only belongs in delta CRLs) are not
 * offered, so no revocation can be made to look like none.
 */
const OFFERED = Object.keys(REVOCATION_REASONS).filter((r) => r !== 'certificateHold' && r !== 'removeFromCRL') as RevocationReason[];

export function parseReason(body: Record<string, unknown>): RevocationReason {
  const reason = body.reason ?? 'unspecified';
  if (typeof reason !== 'string' || !(OFFERED as string[]).includes(reason)) throw new ValidationError(`reason must be one of ${OFFERED.join(', ')} (RFC 5280)`, 'reason');
  return reason as RevocationReason;
}

/**
 * Revokes one certificate certops issued, at its CA, and says so. Revoking it again changes
 * nothing, but for keyCompromise, which a revocation with a milder reason becomes (RFC 5280
 * lets a CA change the reason to keyCompromise).
 */
export async function revoke(cert: StoredCertificate, reason: RevocationReason, revokedBy: string, deps: RevocationDeps): Promise<StoredCertificate> {
  const escalation = cert.status === 'revoked' && reason === 'keyCompromise' && cert.revocationReason !== 'keyCompromise';
  // Dated when the revocation was recorded, so an announcement made again is the same event.
  const announcement = (r: RevocationReason, escalated: boolean, at: string) => newEvent('certificate.revoked', { ...certificateFields(cert), reason: r, revokedBy }, { now: () => new Date(at), newId: () => `revoked:${cert.id}${escalated ? ':keyCompromise' : ''}` });
  if (cert.status === 'revoked' && !escalation) {
    // Asked again: the event goes out again under its first id (consumers keep one).
    await deps.publisher.publish([announcement((cert.revocationReason as RevocationReason | undefined) ?? reason, false, cert.revokedAt ?? deps.clock.now().toISOString())]);
    return cert;
  }
  if (!cert.issuerBackend) throw new ConflictError(`certificate ${cert.id} was not issued by certops (it was ${cert.source}); revoke it at its own CA`, 'id');
  const now = deps.clock.now().toISOString();
  const revokedAt = cert.revokedAt ?? now;
  await announceAfter(ISSUANCE, [announcement(reason, escalation, escalation ? now : revokedAt)], () => recordRevocation(cert, reason, revokedAt, deps), deps);
  return { ...cert, status: 'revoked', revocationReason: reason, revokedAt };
}

/** At the CA (which keeps a revocation asked twice once), then in the inventory. */
async function recordRevocation(cert: StoredCertificate, reason: RevocationReason, revokedAt: string, deps: RevocationDeps): Promise<void> {
  await (await deps.authority(cert.issuerBackend!)).revoke(cert.serialNumber, reason, new Date(revokedAt));
  await deps.certificates.update(cert.id, { status: 'revoked', revocationReason: reason, revokedAt });
}

/**
 * Recovery's proof for a certificate.revoked intent: a revocation a killed process began is
 * finished (it was asked for, and the CA may have made it already: a CA's revocation is final),
 * so the CA's CRL and the inventory never disagree. False for a certificate certops did not issue.
 */
export async function finishRevocation(event: BusEvent, deps: RevocationDeps): Promise<boolean> {
  const cert = await deps.certificates.get(String(event.detail.certificateId));
  if (!cert?.issuerBackend) return false;
  const reason = event.detail.reason as RevocationReason;
  // Revoked since (by a later request, perhaps for a graver reason): that one stands; only keyCompromise, the gravest, is carried over.
  const escalation = cert.status === 'revoked' && reason === 'keyCompromise' && cert.revocationReason !== 'keyCompromise';
  if (cert.status !== 'revoked' || escalation) await recordRevocation(cert, reason, cert.revokedAt ?? event.detail.occurredAt, deps);
  return true;
}

export async function revokeOne(id: string, body: unknown, revokedBy: string, deps: RevocationDeps) {
  const obj = body === undefined ? {} : asObject(body);
  const reason = parseReason(obj);
  const cert = await deps.certificates.get(id);
  if (!cert) throw new NotFoundError(`no certificate ${id}`, 'id');
  // dryRun: the same checks as a revocation (reason, role, a certificate certops can revoke), and nothing revoked.
  if (optionalBoolean(obj, 'dryRun')) {
    if (!cert.issuerBackend && cert.status !== 'revoked') throw new ConflictError(`certificate ${cert.id} was not issued by certops (it was ${cert.source}); revoke it at its own CA`, 'id');
    return { dryRun: true, reason, wouldRevoke: [{ certificateId: cert.id, subject: cert.subject, serialNumber: cert.serialNumber, notAfter: cert.notAfter, status: cert.status }] };
  }
  const done = await revoke(cert, reason, revokedBy, deps);
  return { certificateId: done.id, status: done.status, reason: done.revocationReason, revokedAt: done.revokedAt };
}

/**
 * For incidents: every live certificate certops issued from one issuer (its DN) or for one key
 * (the SHA-256 of its SubjectPublicKeyInfo). With dryRun it only lists what would be revoked.
 */
export async function revokeMany(body: unknown, revokedBy: string, deps: RevocationDeps) {
  const obj = asObject(body);
  const issuer = optionalString(obj, 'issuer', 1024);
  const key = optionalString(obj, 'spkiSha256', 64);
  if (!issuer === !key) throw new ValidationError('give exactly one of issuer (a DN) or spkiSha256 (a key)', issuer ? 'spkiSha256' : 'issuer');
  if (key && !/^[0-9a-f]{64}$/i.test(key)) throw new ValidationError('spkiSha256 must be the SHA-256 of the key\'s SubjectPublicKeyInfo, 64 hex digits', 'spkiSha256');
  const reason = parseReason(obj);
  const dryRun = optionalBoolean(obj, 'dryRun');
  const matches: StoredCertificate[] = [];
  let token: string | undefined;
  do {
    const page = await deps.certificates.list(issuer ? { issuer } : {}, 500, token);
    matches.push(...page.items.filter((c) => c.issuerBackend && c.status !== 'revoked' && c.status !== 'expired' && (!key || c.spkiSha256 === key.toLowerCase())));
    token = page.nextToken;
  } while (token);
  const listed = matches.map((c) => ({ certificateId: c.id, subject: c.subject, serialNumber: c.serialNumber, notAfter: c.notAfter, status: c.status }));
  if (dryRun) return { dryRun: true, reason, wouldRevoke: listed };
  for (const cert of matches) await revoke(cert, reason, revokedBy, deps);
  return { dryRun: false, reason, revoked: listed };
}
