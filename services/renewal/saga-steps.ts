import { NotFoundError, PolicyError, StepError } from '../../shared/errors.ts';
import { certificateFields, newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import type { DetailType } from '../../shared/events/catalog.ts';
import type { CertificateRequest, StoredCertificate } from '../../shared/model.ts';
import type { CertificateAuthority, CertificateStore, Clock, EventPublisher, KeyVault, LockStore, RequestStore, TargetStore } from '../../shared/ports.ts';
import { targetRefusal } from '../../shared/target-access.ts';
import { checkSignature, type SignatureRequest, type SigningConfig } from '../../shared/signing-policy.ts';
import { approvalOf, renewalSignature } from '../../shared/renewal-signature.ts';
import { issuedCertificate } from '../../shared/issued-certificate.ts';
import type { KeyAlgorithm } from '../../shared/x509/keys.ts';
import { materialOf, newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { renewalKeyRef } from '../../shared/certificate-key-vault.ts';
import { failureOf, requireRenewed, type SagaState } from '../../shared/saga-state.ts';
import { certificateLock, leaseUntil, type HoldsLockWhileRetried } from '../../shared/certificate-lock.ts';
import { LEASE_MS } from '../../shared/lease.ts';

export interface RenewalDeps extends SigningConfig {
  /** Counts a failed renewal for the alarms (CloudWatch on AWS). */
  countFailure?(certificateId: string): void;
  clock: Clock;
  /** Where the approval of the lineage's first request is read, for names outside policy, and who asked for it; where a renewal that needs an approval asks for one. */
  requests: Pick<RequestStore, 'get' | 'create' | 'transition'>;
  newId(): string;
  targets: Pick<TargetStore, 'get'>;
  certificates: CertificateStore;
  locks: LockStore;
  publisher: EventPublisher;
  keyVault(): Promise<KeyVault>;
  authority(name: string): Promise<CertificateAuthority>;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

async function load(id: string, deps: RenewalDeps, step: string): Promise<StoredCertificate> {
  const cert = await deps.certificates.get(id);
  if (!cert) throw new StepError(step, `certificate ${id} is not in the inventory`);
  return cert;
}

/** Saga events get ids derived from the execution, so a retried step re-emits the same event and consumers drop it. */
function sagaEvent(state: SagaState, type: DetailType, fields: Record<string, unknown>, deps: RenewalDeps): BusEvent {
  return newEvent(type, fields, { now: () => deps.clock.now(), newId: () => `${state.executionName}:${type}`, correlationId: state.executionName });
}

/** The renewal needs an approver's yes under the policy in force, and request `requestId` waits for one: Abort names the request the store holds in renewal.failed. */
class AwaitsApprover extends StepError {
  constructor(certificateId: string, requestId: string, reasons: string[]) {
    super('lock', `renewing ${certificateId} needs an approval under the policy in force: request ${requestId} waits for an approver (${reasons.join('; ')})`);
    this.name = 'AwaitsApprover';
  }
}

/** Another execution holds the certificate's lock: the saga stops without a word (its Catch names this error). */
class RenewalLocked extends StepError {
  constructor(certificateId: string) {
    super('lock', `another renewal of ${certificateId} is running`);
    this.name = 'RenewalLocked';
  }
}

/**
 * The CA has the successor's order and has not issued yet (an ACME CA still validating): the Renew
 * state's Retry asks again later (the same order: the issuance is keyed by the execution), and the
 * certificate's lock is held until then: the Retry's longest wait (MaxDelaySeconds, 600) and a lease.
 */
class IssuancePending extends StepError implements HoldsLockWhileRetried {
  readonly holdLockMs = 600_000 + LEASE_MS;
  constructor(issuer: string) {
    super('renew', `${issuer} has not issued yet: its domain validation is still running`);
    this.name = 'IssuancePending';
  }
}

/**
 * Asks for the approval a renewal needs, as a new request would: a request waiting for an
 * approver (expiring as any does), named on the certificate so the next attempt finds it. When
 * an approver says yes, the renewal service starts the renewal (renewOnApproval).
 */
async function askApproval(cert: StoredCertificate, wanted: SignatureRequest & { keyAlgorithm: KeyAlgorithm }, reasons: string[], state: SagaState, deps: RenewalDeps): Promise<CertificateRequest> {
  const now = deps.clock.now();
  // The names are the lineage's: its requester stands for them (and so may not approve them), and
  // whoever asked for this renewal may not either.
  const lineage = cert.requestId ? await deps.requests.get(cert.requestId) : undefined;
  const askedBy = state.requestedBy ?? 'renewal-sweep';
  const requestedBy = lineage?.requestedBy ?? askedBy;
  const request: CertificateRequest = {
    requestId: deps.newId(), status: 'pending_approval', renews: cert.id, ...(askedBy !== requestedBy ? { askedBy } : {}),
    // The person an ACME account ordered the lineage for may not approve its renewal either.
    ...(lineage?.askedBy && lineage.askedBy !== askedBy ? { orderedFor: lineage.askedBy } : {}),
    commonName: wanted.commonName, subjectAlternativeNames: wanted.names, profile: wanted.profile, validityDays: wanted.validityDays,
    environment: wanted.environment, owner: wanted.owner, issuer: cert.issuerBackend ?? 'local', targets: cert.targets,
    requestedBy, ...(lineage?.requestedByRole ? { requestedByRole: lineage.requestedByRole } : {}), reasons, createdAt: now.toISOString(), keyAlgorithm: wanted.keyAlgorithm,
    expiresAt: new Date(now.getTime() + deps.policy.approvalTimeoutHours * 3_600_000).toISOString(),
  };
  await deps.requests.create(request);
  await deps.certificates.update(cert.id, { renewalRequestId: request.requestId });
  return request;
}

/**
 * The first step: the current policy must still allow what the successor would be (else the saga
 * fails here with the reasons; names that now need an approver's yes get a request asking for it,
 * or the one already waiting), then the certificate's renewal lock is taken for this execution
 * (retries by the same execution succeed).
 */
export async function lock(state: SagaState, deps: RenewalDeps) {
  const cert = await load(state.certificateId, deps, 'lock');
  const approval = await approvalOf(cert, deps);
  const wanted = renewalSignature(cert, deps, approval.approvedRequestId);
  try {
    await checkSignature(deps, wanted, deps.requests);
  } catch (err) {
    if (err instanceof PolicyError && err.needsApproval) {
      // The sweep does not ask again a person who said no; someone asking for the renewal does.
      const refused = approval.request?.status === 'rejected' && approval.request.decidedBy !== 'expiry' && state.trigger === 'sweep';
      if (refused) throw new StepError('lock', `renewing ${cert.id} needs an approval under the policy in force, and ${approval.request!.decidedBy} refused it (request ${approval.request!.requestId})`);
      const waiting = approval.request?.status === 'pending_approval' ? approval.request : await askApproval(cert, wanted, err.reasons, state, deps);
      // Approvers are told, again on every attempt that finds the request waiting (the same id:
      // consumers keep one): a renewal asked for again after a crash between the two tells them.
      await deps.publisher.publish([newEvent('request.pending_approval', { requestId: waiting.requestId, commonName: waiting.commonName, reasons: waiting.reasons, requestedBy: waiting.requestedBy, renews: cert.id }, { now: () => deps.clock.now(), newId: () => `pending:${waiting.requestId}`, correlationId: waiting.requestId })]);
      throw new AwaitsApprover(cert.id, waiting.requestId, err.reasons);
    }
    if (err instanceof PolicyError) throw new StepError('lock', `the policy in force does not allow renewing ${cert.id}: ${err.reasons.join('; ')}`);
    throw err;
  }
  // One renewal per lineage: while the predecessor's saga runs, it is still deploying and verifying
  // this certificate, and a renewal of it would deploy to the same targets under its feet.
  if (cert.renewalOf && (await deps.locks.holder(certificateLock(cert.renewalOf)))) throw new RenewalLocked(cert.renewalOf);
  if (!(await deps.locks.acquire(certificateLock(cert.id), state.executionName, leaseUntil(deps.clock)))) throw new RenewalLocked(cert.id);
  await deps.certificates.addHistory(cert.id, { kind: 'renewal', attempt: state.executionName, outcome: 'started', at: deps.clock.now().toISOString() });
  await deps.publisher.publish([sagaEvent(state, 'renewal.started', { ...certificateFields(cert), executionName: state.executionName, trigger: state.trigger, ...(state.requestedBy ? { requestedBy: state.requestedBy } : {}) }, deps)]);
  return { holder: state.executionName };
}

/**
 * The old certificate's targets that its requester may still deploy to (a target's access rules may
 * have changed since): the successor goes to those only; the others keep the old one, which the
 * history says.
 */
async function permittedTargets(old: StoredCertificate, state: SagaState, deps: RenewalDeps): Promise<string[]> {
  const request = old.requestId ? await deps.requests.get(old.requestId) : undefined;
  const requester = request ? { name: request.requestedBy, role: request.requestedByRole ?? ('viewer' as const) } : { name: '', role: 'admin' as const };
  const permitted: string[] = [];
  for (const name of old.targets) {
    const target = await deps.targets.get(name);
    // A target removed since (or one a request named before it was removed) is skipped, and the
    // history says so: the renewal goes on with the others.
    const refusal = target ? targetRefusal(target, requester, old.environment) : `target ${name} is no longer registered`;
    if (!refusal) {
      permitted.push(name);
      continue;
    }
    await deps.certificates.addHistory(old.id, { kind: 'deployment', attempt: state.executionName, target: name, outcome: 'failed', at: deps.clock.now().toISOString(), detail: `renew: ${refusal}; the successor is not deployed there` });
  }
  return permitted;
}

/** Issues the successor: same names and profile, a new key, the same CA. A retry returns the successor already made. */
export async function renew(state: SagaState, deps: RenewalDeps) {
  const old = await load(state.certificateId, deps, 'renew');
  if (old.pendingRenewal?.executionName === state.executionName) {
    // Made before a crash: announced again (the id is the execution's, so consumers keep one), in
    // case the crash came before the first announcement.
    const made = await load(old.pendingRenewal.newCertificateId, deps, 'renew');
    await announceSuccessor(state, old, made, renewalSignature(old, deps).commonName, deps);
    return { newCertificateId: made.id, targets: made.targets };
  }
  const approval = await approvalOf(old, deps);
  const wanted = renewalSignature(old, deps, approval.approvedRequestId);
  // Intent before effect, as for a request: the new key is kept before the CA is asked, and the CA
  // answers the same certificate for the same execution, so a saga resumed after a crash anywhere
  // in this task makes no second successor.
  const vault = await deps.keyVault();
  const keyRef = renewalKeyRef(state.executionName);
  const kept = await vault.get(keyRef).catch((err) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  const material = kept ? await materialOf(wanted.keyAlgorithm, kept, wanted.commonName, wanted.names) : await newKeyAndCsr(wanted.keyAlgorithm, wanted.commonName, wanted.names);
  if (!kept) await vault.put(keyRef, material.keyPem);
  const { csrPem, spkiDer, keyType, keyPem } = material;
  let issued;
  try {
    const ca = await deps.authority(old.issuerBackend ?? 'local');
    issued = await ca.issue({ csrPem, spkiDer, keyType, commonName: wanted.commonName, subjectAlternativeNames: wanted.names, validityDays: wanted.validityDays, profile: wanted.profile, environment: wanted.environment, owner: wanted.owner, approvedRequestId: wanted.approvedRequestId, idempotencyKey: `renew:${state.executionName}`, replacesCertificatePem: old.certificatePem });
  } catch (err) {
    throw new StepError('renew', `the CA refused or failed: ${(err as Error).message}`);
  }
  if ('pending' in issued) throw new IssuancePending(old.issuerBackend ?? 'local');
  const targets = await permittedTargets(old, state, deps);
  const successor = issuedCertificate(issued, {
    issuerBackend: old.issuerBackend ?? 'local', profile: old.profile ?? 'tls-server', targets, environment: old.environment, owner: old.owner,
    // The approval it was signed under, when a renewal needed one: it covers the names of the
    // lineage's next renewals too. One asked for before approvals carried the requester's role
    // would make the lineage's deployments a viewer's: the lineage keeps its first request then.
    requestId: approval.request?.status === 'approved' && approval.request.requestedByRole ? approval.request.requestId : old.requestId,
    requestedBy: old.requestedBy, renewalOf: old.id, managedKey: true,
  }, deps.clock.now());
  await vault.put(successor.keyRef!, keyPem);
  await deps.certificates.create(successor);
  deps.crashPoint?.('saga:renew-after-successor');
  await deps.certificates.update(old.id, { pendingRenewal: { executionName: state.executionName, newCertificateId: successor.id } });
  await vault.remove(keyRef);
  await announceSuccessor(state, old, successor, wanted.commonName, deps);
  return { newCertificateId: successor.id, targets };
}

/** certificate.issued for a renewal's successor, from the stored records. */
function announceSuccessor(state: SagaState, old: StoredCertificate, successor: StoredCertificate, commonName: string, deps: RenewalDeps): Promise<void> {
  return deps.publisher.publish([sagaEvent(state, 'certificate.issued', {
    ...certificateFields(successor), requestId: state.executionName, commonName, subjectAlternativeNames: successor.subjectAlternativeNames,
    environment: old.environment, owner: old.owner, issuerBackend: successor.issuerBackend, profile: successor.profile, targets: successor.targets,
    renewalOf: old.id, certificatePem: successor.certificatePem, chainPem: successor.chainPem,
  }, deps)]);
}

/**
 * The successor the inventory says this execution made: the saga's own stored record
 * (`pendingRenewal`) is the truth, never the state or an event handed to a step.
 */
async function successorOf(old: StoredCertificate, state: SagaState, deps: RenewalDeps, step: string): Promise<StoredCertificate> {
  if (old.pendingRenewal?.executionName !== state.executionName) throw new StepError(step, `the inventory records no successor of ${old.id} made by ${state.executionName}`);
  return load(old.pendingRenewal.newCertificateId, deps, step);
}

/** The successor is deployed and verified everywhere: it replaces the old certificate. */
export async function commit(state: SagaState, deps: RenewalDeps) {
  const renewed = requireRenewed(state);
  const old = await load(state.certificateId, deps, 'commit');
  const successor = await successorOf(old, state, deps, 'commit');
  // A revocation made meanwhile wins: the old certificate is superseded only while still active,
  // and only by a successor still active; else the saga rolls back and fails with the reason.
  if (successor.status !== 'active') throw new StepError('commit', `the successor ${successor.id} was ${successor.status} meanwhile (${successor.revocationReason ?? 'no reason given'})`);
  if (old.supersededBy !== successor.id && !(await deps.certificates.transition(old.id, 'active', { status: 'superseded', supersededBy: successor.id }))) {
    const now = await load(old.id, deps, 'commit');
    throw new StepError('commit', `${old.id} was ${now.status} meanwhile (${now.revocationReason ?? 'no reason given'}); its renewal is not committed`);
  }
  // The approval this renewal needed has served.
  if (old.renewalRequestId) await deps.requests.transition(old.renewalRequestId, 'approved', { status: 'issued', certificateId: successor.id });
  await deps.certificates.addHistory(old.id, { kind: 'renewal', attempt: state.executionName, outcome: 'succeeded', at: deps.clock.now().toISOString(), detail: `renewed as ${successor.id}` });
  await deps.locks.release(certificateLock(old.id), state.executionName);
  await deps.publisher.publish([sagaEvent(state, 'renewal.succeeded', { ...certificateFields(old), newCertificateId: successor.id, targets: renewed.targets }, deps)]);
  return { committed: successor.id };
}

/** After a failure and the targets' rollback: retire the unused successor, release the lock, say what failed. */
export async function abort(state: SagaState, deps: RenewalDeps) {
  const { step, cause } = failureOf(state.error, state.failedStep);
  const old = await deps.certificates.get(state.certificateId);
  if (!old) throw new NotFoundError(`certificate ${state.certificateId} is not in the inventory`, 'certificateId');
  const successorId = old.pendingRenewal?.executionName === state.executionName ? old.pendingRenewal.newCertificateId : undefined;
  const successor = successorId ? await deps.certificates.get(successorId) : undefined;
  if (successor) {
    if (successor.status !== 'revoked') {
      // The unused successor is revoked at its CA (it may have been served for a moment), reason superseded.
      await (await deps.authority(successor.issuerBackend ?? 'local')).revoke(successor.serialNumber, 'superseded');
      await deps.certificates.update(successor.id, { status: 'revoked', revocationReason: 'superseded', revokedAt: deps.clock.now().toISOString() });
    }
    // Said again when this task is replayed after a crash (the execution's id: consumers keep one).
    if (successor.status !== 'revoked' || successor.revocationReason === 'superseded') {
      await deps.publisher.publish([sagaEvent(state, 'certificate.revoked', { ...certificateFields(successor), reason: 'superseded', revokedBy: state.executionName }, deps)]);
    }
  }
  await deps.certificates.update(old.id, { pendingRenewal: undefined });
  await deps.certificates.addHistory(old.id, { kind: 'renewal', attempt: state.executionName, outcome: 'failed', at: deps.clock.now().toISOString(), detail: cause.startsWith(`${step}: `) ? cause : `${step}: ${cause}` });
  await deps.locks.release(certificateLock(old.id), state.executionName);
  // A renewal that failed for want of an approver names the request, as the store has it (what to do is decide it).
  const waiting = state.error?.Error === 'AwaitsApprover' && old.renewalRequestId ? await deps.requests.get(old.renewalRequestId) : undefined;
  const approvalRequestId = waiting?.status === 'pending_approval' ? waiting.requestId : undefined;
  await deps.publisher.publish([sagaEvent(state, 'renewal.failed', { ...certificateFields(old), step, cause, ...(approvalRequestId ? { approvalRequestId } : {}) }, deps)]);
  deps.countFailure?.(old.id);
  return { step, cause };
}

/**
 * The last resort when Abort itself kept failing: the renewal is given up without undoing it (the
 * successor, if one was issued, is named for an operator to revoke), the lock is released so the
 * next sweep can try again, and renewal.failed says what happened. No CA is asked: Abort's
 * failure may be the CA's.
 */
export async function abandon(state: SagaState, deps: RenewalDeps) {
  const { step, cause } = failureOf(state.error, state.failedStep);
  const abortCause = failureOf(state.abortError, 'abort').cause;
  const old = await deps.certificates.get(state.certificateId);
  if (!old) throw new NotFoundError(`certificate ${state.certificateId} is not in the inventory`, 'certificateId');
  const successorId = old.pendingRenewal?.executionName === state.executionName ? old.pendingRenewal.newCertificateId : undefined;
  const left = `${cause}; undoing it failed too (${abortCause})${successorId ? `: successor ${successorId} was not revoked` : ''}`;
  if (successorId) await deps.certificates.update(old.id, { pendingRenewal: undefined });
  await deps.certificates.addHistory(old.id, { kind: 'renewal', attempt: state.executionName, outcome: 'failed', at: deps.clock.now().toISOString(), detail: `${step}: ${left}` });
  await deps.locks.release(certificateLock(old.id), state.executionName);
  await deps.publisher.publish([sagaEvent(state, 'renewal.failed', { ...certificateFields(old), step, cause: left }, deps)]);
  deps.countFailure?.(old.id);
  return { step, cause: left };
}
