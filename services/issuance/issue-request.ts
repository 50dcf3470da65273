import { ConflictError, IssuerRefusedError, NotFoundError, PolicyError, ValidationError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import type { CertificateAuthority, CertificateStore, Clock, EventPublisher, KeyVault, RequestStore } from '../../shared/ports.ts';
import { issuedCertificate } from '../../shared/issued-certificate.ts';
import { requestKeyRef } from '../../shared/certificate-key-vault.ts';
import { withLease, type HeldLease, type LeaseStore } from '../../shared/lease.ts';
import type { Policy } from '../../shared/policy.ts';
import type { OwnershipRule } from '../../shared/ownership.ts';
import { readCsr, type CsrContents } from '../../shared/x509/csr.ts';
import { parseKeyAlgorithm } from '../../shared/x509/keys.ts';
import { materialOf, newKeyAndCsr, type KeyMaterial } from '../../shared/x509/new-key.ts';
import type { AnnounceDeps } from '../../shared/announce.ts';
import { announceRejection, rejectedDecision, type Rejection } from './announcements.ts';

export interface IssuanceDeps extends AnnounceDeps {
  clock: Clock;
  /** Leases on requests (see DynamoRequestLeases): one attempt at a time signs and records a request. */
  requestLeases: LeaseStore;
  newId(): string;
  requests: RequestStore;
  certificates: CertificateStore;
  publisher: EventPublisher;
  policy: Policy;
  ownership: OwnershipRule[];
  keyVault(): Promise<KeyVault>;
  authority(name: string): Promise<CertificateAuthority>;
  /** Claims made before this moment belong to a process that is gone (local stack: its start); unset, only a claim's lease tells. */
  ownersGoneBefore?: Date;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

export interface RequestAnswer {
  requestId: string;
  status: CertificateRequest['status'];
  certificateId?: string;
  reasons: string[];
  privateKeyPem?: string;
  validationRecords?: CertificateRequest['validationRecords'];
}

export function answerOf(r: CertificateRequest): RequestAnswer {
  return { requestId: r.requestId, status: r.status, certificateId: r.certificateId, reasons: r.reasons, ...(r.validationRecords ? { validationRecords: r.validationRecords } : {}) };
}

export function eventContext(deps: Pick<IssuanceDeps, 'clock' | 'newId'>, correlationId: string, id?: string) {
  return { now: () => deps.clock.now(), newId: id ? () => id : deps.newId, correlationId };
}

/**
 * A request's certificate, signed (now, or after domain validation): its key (if certops made it)
 * into the vault, then the inventory record, then certificate.issued. The store holds what was
 * issued before anyone is told; a retry finds the record there and changes nothing.
 */
export async function announceIssued(request: CertificateRequest, issued: { certificatePem: string; chainPem: string }, caName: string, deps: IssuanceDeps, keyPem?: string): Promise<CertificateRequest> {
  const cert = issuedCertificate(issued, {
    issuerBackend: caName, profile: request.profile, targets: request.targets, environment: request.environment, owner: request.owner,
    requestId: request.requestId, requestedBy: request.requestedBy, acmArn: request.validationReference?.startsWith('arn:') ? request.validationReference : undefined, managedKey: Boolean(keyPem),
  }, deps.clock.now());
  if (keyPem) await (await deps.keyVault()).put(cert.keyRef!, keyPem);
  deps.crashPoint?.('issuance:after-vault');
  await deps.certificates.create(cert);
  deps.crashPoint?.('issuance:after-record');
  await deps.publisher.publish([newEvent('certificate.issued', {
    ...certificateFields(cert),
    requestId: request.requestId,
    commonName: request.commonName,
    subjectAlternativeNames: request.subjectAlternativeNames,
    environment: request.environment,
    owner: request.owner,
    issuerBackend: caName,
    profile: request.profile,
    targets: request.targets,
    acmArn: request.validationReference?.startsWith('arn:') ? request.validationReference : undefined,
    certificatePem: issued.certificatePem,
    chainPem: issued.chainPem,
  }, eventContext(deps, request.requestId, `issued:${request.requestId}`))]);
  return { ...request, status: 'issued', certificateId: cert.id };
}

/**
 * The key the request is signed for: its CSR's (`csr`: that CSR as already read and checked), or
 * one certops generates and keeps in the vault under the request (before the CA is asked, so a
 * retry signs the same key and finds the certificate the CA journaled for it).
 */
async function keyMaterial(request: CertificateRequest, deps: IssuanceDeps, csr?: CsrContents): Promise<KeyMaterial | (Omit<KeyMaterial, 'keyPem'> & { keyPem?: undefined })> {
  if (request.csrPem) {
    const { spkiDer, keyType } = csr ?? (await readCsr(request.csrPem));
    return { csrPem: request.csrPem, spkiDer, keyType };
  }
  const vault = await deps.keyVault();
  const alg = parseKeyAlgorithm(request.keyAlgorithm);
  const kept = await vault.get(requestKeyRef(request.requestId)).catch((err) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (kept) return materialOf(alg, kept, request.commonName, request.subjectAlternativeNames);
  const made = await newKeyAndCsr(alg, request.commonName, request.subjectAlternativeNames);
  await vault.put(requestKeyRef(request.requestId), made.keyPem);
  deps.crashPoint?.('issuance:after-key');
  return made;
}

/**
 * Signs an allowed or approved request through its CA (idempotently, by the request's id), keeps
 * a generated key only in the vault, and emits certificate.issued (inventory and deployment take
 * it from there). A CA that validates domains first leaves the request pending_validation with
 * the DNS records to create. Returns the generated key for the one-time delivery, if any.
 */
export async function issueRequest(request: CertificateRequest, deps: IssuanceDeps, csr?: CsrContents): Promise<{ request: CertificateRequest; privateKeyPem?: string }> {
  const ca = await deps.authority(request.issuer);
  const material = await keyMaterial(request, deps, csr);
  const result = await ca.issue({
    csrPem: material.csrPem, spkiDer: material.spkiDer, keyType: material.keyType, commonName: request.commonName, subjectAlternativeNames: request.subjectAlternativeNames,
    validityDays: request.validityDays, profile: request.profile, environment: request.environment, owner: request.owner,
    approvedRequestId: request.decidedBy ? request.requestId : undefined, idempotencyKey: request.requestId,
  });
  deps.crashPoint?.('issuance:after-sign');
  if ('pending' in result) {
    return { request: { ...request, status: 'pending_validation', validationReference: result.pending.reference, validationRecords: result.pending.validationRecords } };
  }
  return { request: await announceIssued(request, result, ca.name, deps, material.keyPem), privateKeyPem: material.keyPem };
}

/**
 * Scheduled: collects certificates whose domain validation has completed. A CA that refused the
 * order (IssuerRefusedError: its problem document) rejects the request with the CA's reason; one that
 * fails otherwise (unreachable, say) leaves it for the next sweep. Neither holds up the others.
 */
export async function completeValidations(deps: IssuanceDeps): Promise<{ issued: string[]; rejected: string[]; pending: number; failed: { requestId: string; error: string }[] }> {
  const waiting = await deps.requests.awaitingValidation();
  const out = { issued: [] as string[], rejected: [] as string[], failed: [] as { requestId: string; error: string }[] };
  for (const request of waiting) {
    try {
      const ca = await deps.authority(request.issuer);
      const done = ca.complete && request.validationReference ? await ca.complete(request.validationReference) : undefined;
      if (!done) continue;
      const result = await announceIssued(request, done, ca.name, deps);
      if (await deps.requests.transition(request.requestId, 'pending_validation', { status: 'issued', certificateId: result.certificateId })) out.issued.push(request.requestId);
    } catch (err) {
      if (!(err instanceof IssuerRefusedError)) {
        out.failed.push({ requestId: request.requestId, error: (err as Error).message });
        continue;
      }
      const rejection: Rejection = { requestId: request.requestId, decidedBy: 'issuer', comment: 'refused by the CA', reasons: [err.message], at: deps.clock.now() };
      if (await announceRejection(rejection, () => deps.requests.transition(request.requestId, 'pending_validation', { ...rejectedDecision(rejection), reasons: [err.message] }), deps)) out.rejected.push(request.requestId);
    }
  }
  return { ...out, pending: waiting.length - out.issued.length - out.rejected.length };
}

/**
 * A request refused at signing, for good: by policy (the configuration changed since it was asked
 * or approved), or by its CA as it stands (an ACME CA and a CSR naming other names): rejected
 * with the reasons, ending `attempt`'s lease in the same write.
 */
async function refuseAtSigning(request: CertificateRequest, by: 'policy' | 'issuer', reasons: string[], attempt: string, lease: HeldLease, deps: IssuanceDeps): Promise<void> {
  const rejection: Rejection = { requestId: request.requestId, decidedBy: by, comment: `refused by ${by === 'policy' ? 'policy' : 'the CA'} at signing`, reasons, at: deps.clock.now() };
  await announceRejection(rejection, async () => endsLease(lease, await deps.requests.transition(request.requestId, 'approved', { ...rejectedDecision(rejection), reasons }, attempt)), deps);
}

/** Tells the lease it ended when the write that would end it was made. */
function endsLease(lease: HeldLease, written: boolean): boolean {
  if (written) lease.released();
  return written;
}

/**
 * Rejects an approved request under its lease (none while an attempt is issuing it), the lease
 * ending in the rejection's own write. Undefined when another attempt holds it.
 */
export function rejectUnderLease(requestId: string, owner: string, decision: Partial<CertificateRequest>, deps: IssuanceDeps): Promise<{ value: boolean } | undefined> {
  return withLease(deps.requestLeases, deps.clock, requestId, owner, async (lease) => endsLease(lease, await deps.requests.transition(requestId, 'approved', decision, owner)));
}

/**
 * An approved request's approval, announced again under its first id and time (consumers keep
 * one): before whatever ends the request (its signature, a rejection, its lapse) overwrites the
 * decision, so an approval whose process died before announcing it is not lost.
 */
export async function announceApprovalAgain(request: CertificateRequest, deps: IssuanceDeps): Promise<void> {
  if (request.status !== 'approved' || !request.decidedBy) return;
  const decided = { ...eventContext(deps, request.requestId, `approved:${request.requestId}`), now: () => new Date(request.decidedAt ?? deps.clock.now()) };
  await deps.publisher.publish([newEvent('request.approved', { requestId: request.requestId, decidedBy: request.decidedBy, comment: request.decisionComment }, decided)]);
}

/**
 * Takes an approved request to its end, under the request's lease: signs it (the CA answers the
 * same certificate for the same request), records and announces the certificate, and moves the
 * request on. Whoever calls it finishes the same work, once: the request as it is asked, an
 * approver, a retry with the same Idempotency-Key, or the recovery after a crash. A request no
 * longer approved is answered as it stands. RequestBeingIssuedError while another attempt holds the lease.
 * `created`: the request this attempt has just recorded holding its lease, with its CSR as read.
 */
export async function finishIssuance(requestId: string, attempt: string, deps: IssuanceDeps, created?: { request: CertificateRequest; csr?: CsrContents }): Promise<{ request: CertificateRequest; privateKeyPem?: string }> {
  const finished = await withLease(deps.requestLeases, deps.clock, requestId, attempt, async (lease) => {
    const current = created?.request ?? (await deps.requests.get(requestId));
    if (!current) throw new NotFoundError(`no request ${requestId}`, 'id');
    // A renewal's approval is signed by the renewal saga it allows, not here.
    if (current.status !== 'approved' || current.renews) return { request: current };
    // The second pair of eyes goes on the record before the signature it allows.
    await announceApprovalAgain(current, deps);
    let outcome: Awaited<ReturnType<typeof issueRequest>>;
    try {
      outcome = await issueRequest(current, deps, created?.csr);
    } catch (err) {
      if (err instanceof PolicyError) await refuseAtSigning(current, 'policy', err.reasons, attempt, lease, deps);
      // Only what the CA can never issue as asked ends the request (a CSR it cannot take, its
      // refusal); a missing secret, an unreachable CA or a garbled answer can be fixed, and the request retried.
      else if ((err instanceof ValidationError && err.field === 'csr') || err instanceof IssuerRefusedError) await refuseAtSigning(current, 'issuer', [err.message], attempt, lease, deps);
      throw err;
    }
    const { request: done } = outcome;
    endsLease(lease, await deps.requests.transition(requestId, 'approved', { status: done.status, certificateId: done.certificateId, validationReference: done.validationReference, validationRecords: done.validationRecords }, attempt));
    deps.crashPoint?.('issuance:after-request');
    // The kept key has served: the certificate's own copy is in the vault.
    if (!current.csrPem) await (await deps.keyVault()).remove(requestKeyRef(requestId));
    return outcome;
  }, { taken: created !== undefined });
  if (finished) return finished.value;
  // Requests are leased only while approved: one that moved on is answered as it stands.
  const current = await deps.requests.get(requestId);
  if (!current) throw new NotFoundError(`no request ${requestId}`, 'id');
  if (current.status !== 'approved') return { request: current };
  throw new RequestBeingIssuedError(`request ${requestId} is being issued; ask again in a moment`, 'id');
}

/** Another attempt holds the request's lease and is issuing it now. */
export class RequestBeingIssuedError extends ConflictError {}
