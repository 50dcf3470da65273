import { ConflictError, ForbiddenError, PolicyError, ValidationError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { CertificateRequest, Role } from '../../shared/model.ts';
import type { CertificateAuthority, CertificateStore, Clock, EventPublisher, KeyVault, RequestStore, TargetStore } from '../../shared/ports.ts';
import { targetRefusal } from '../../shared/target-access.ts';
import { issuedCertificate } from '../../shared/issued-certificate.ts';
import type { Policy } from '../../shared/policy.ts';
import type { OwnershipRule } from '../../shared/ownership.ts';
import { judge } from '../../shared/signing-policy.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import { parseKeyAlgorithm } from '../../shared/x509/keys.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import type { RequestInput } from './request-input.ts';

export interface IssuanceDeps {
  clock: Clock;
  newId(): string;
  requests: RequestStore;
  certificates: CertificateStore;
  publisher: EventPublisher;
  policy: Policy;
  ownership: OwnershipRule[];
  keyVault(): Promise<KeyVault>;
  authority(name: string): Promise<CertificateAuthority>;
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

const HOUR_MS = 3_600_000;
/** How long a duplicate waits for the first request with the same idempotency key to finish. */
const DUPLICATE_WAIT_MS = 10_000;

async function answerOfExisting(requestId: string, deps: IssuanceDeps): Promise<RequestAnswer> {
  const deadline = Date.now() + DUPLICATE_WAIT_MS;
  for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const existing = await deps.requests.get(requestId);
    if (existing && existing.status !== 'approved') return answerOf(existing);
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new ConflictError('a request with this idempotency key is still being processed; retry later', 'Idempotency-Key');
}

/** The key the request brings (its CSR, self-signature checked, no names beyond the request's) or the one it asks certops to make. */
async function requestedKey(input: RequestInput) {
  if (!input.csr) return { keyAlgorithm: input.keyAlgorithm };
  const csr = await readCsr(input.csr);
  const extra = csr.names.filter((n) => !input.subjectAlternativeNames.includes(n.toLowerCase()));
  if (extra.length) throw new ValidationError(`csr names ${extra.join(', ')} that the request does not`, 'csr');
  return { keyAlgorithm: csr.keyAlgorithm, csr };
}

function ctx(deps: IssuanceDeps, correlationId: string, id?: string) {
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
    requestId: request.requestId, acmArn: request.validationReference, managedKey: Boolean(keyPem),
  }, deps.clock.now());
  if (keyPem) await (await deps.keyVault()).put(cert.keyRef!, keyPem);
  await deps.certificates.create(cert);
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
    acmArn: request.validationReference,
    certificatePem: issued.certificatePem,
    chainPem: issued.chainPem,
  }, ctx(deps, request.requestId, `issued:${request.requestId}`))]);
  return { ...request, status: 'issued', certificateId: cert.id };
}

/**
 * Signs an allowed or approved request through its CA, keeps a generated key only in the vault,
 * and emits certificate.issued (inventory and deployment take it from there). A CA that validates
 * domains first leaves the request pending_validation with the DNS records to create. Returns the
 * generated key for the one-time delivery, if any.
 */
export async function issueRequest(request: CertificateRequest, deps: IssuanceDeps): Promise<{ request: CertificateRequest; privateKeyPem?: string }> {
  const ca = await deps.authority(request.issuer);
  const material = request.csrPem
    ? await readCsr(request.csrPem).then((c) => ({ csrPem: request.csrPem!, spkiDer: c.spkiDer, keyType: c.keyType, keyPem: undefined }))
    : await newKeyAndCsr(parseKeyAlgorithm(request.keyAlgorithm), request.commonName, request.subjectAlternativeNames);
  const result = await ca.issue({
    ...material, commonName: request.commonName, subjectAlternativeNames: request.subjectAlternativeNames, validityDays: request.validityDays, profile: request.profile,
    environment: request.environment, owner: request.owner, approvedRequestId: request.decidedBy ? request.requestId : undefined,
  });
  if ('pending' in result) {
    return { request: { ...request, status: 'pending_validation', validationReference: result.pending.reference, validationRecords: result.pending.validationRecords } };
  }
  return { request: await announceIssued(request, result, ca.name, deps, material.keyPem), privateKeyPem: material.keyPem };
}

/** Scheduled: collects certificates whose domain validation has completed. */
export async function completeValidations(deps: IssuanceDeps): Promise<{ issued: string[]; pending: number }> {
  const waiting = await deps.requests.awaitingValidation();
  const issued: string[] = [];
  for (const request of waiting) {
    const ca = await deps.authority(request.issuer);
    const done = ca.complete && request.validationReference ? await ca.complete(request.validationReference) : undefined;
    if (!done) continue;
    const result = await announceIssued(request, done, ca.name, deps);
    if (await deps.requests.transition(request.requestId, 'pending_validation', { status: 'issued', certificateId: result.certificateId })) issued.push(request.requestId);
  }
  return { issued, pending: waiting.length - issued.length };
}

/**
 * Takes a validated request through policy: allowed ones are issued at once, out-of-policy ones
 * wait for an approver, forbidden ones are refused with reasons. Idempotent per
 * `idempotencyKey`: a retry (even one arriving at the same moment) gets the first answer.
 */
export async function requestCertificate(input: RequestInput, requester: { name: string; role: Role }, idempotencyKey: string | undefined, deps: IssuanceDeps & { targets: Pick<TargetStore, 'get'> }): Promise<RequestAnswer> {
  const requestedBy = requester.name;
  const requestId = deps.newId();
  if (idempotencyKey) {
    const winner = await deps.requests.claimIdempotencyKey(`${requestedBy}:${idempotencyKey}`, requestId);
    if (winner !== requestId) return answerOfExisting(winner, deps);
  }
  await deps.authority(input.issuer);
  const key = await requestedKey(input);
  // The same judgement the CA's policy gate makes again at signing time, with the environment resolved first.
  const { verdict, environment, owner } = judge(deps, { commonName: input.commonName, names: input.subjectAlternativeNames, keyAlgorithm: key.keyAlgorithm, validityDays: input.validityDays, profile: input.profile, environment: input.environment, owner: input.owner });
  for (const name of input.targets) {
    const target = await deps.targets.get(name);
    if (!target) throw new ValidationError(`targets: ${name} is not a registered target`, 'targets');
    const refusal = targetRefusal(target, requester, environment);
    if (refusal) throw new ForbiddenError(refusal, 'targets');
  }
  const now = deps.clock.now();
  const request: CertificateRequest = {
    requestId,
    status: verdict.decision === 'allow' ? 'approved' : verdict.decision === 'deny' ? 'rejected' : 'pending_approval',
    commonName: input.commonName,
    subjectAlternativeNames: input.subjectAlternativeNames,
    profile: input.profile,
    validityDays: input.validityDays,
    environment,
    owner,
    issuer: input.issuer,
    targets: input.targets,
    requestedBy,
    requestedByRole: requester.role,
    reasons: verdict.reasons,
    createdAt: now.toISOString(),
    csrPem: input.csr,
    keyAlgorithm: key.keyAlgorithm,
    ...(verdict.decision === 'needs_approval' ? { expiresAt: new Date(now.getTime() + deps.policy.approvalTimeoutHours * HOUR_MS).toISOString() } : {}),
    ...(verdict.decision === 'deny' ? { decidedBy: 'policy', decidedAt: now.toISOString() } : {}),
  };
  if (verdict.decision === 'deny') {
    await deps.requests.create(request);
    await deps.publisher.publish([newEvent('request.rejected', { requestId, decidedBy: 'policy', reasons: verdict.reasons, comment: 'refused by policy' }, ctx(deps, requestId, `rejected:${requestId}`))]);
    return answerOf(request);
  }
  if (verdict.decision === 'needs_approval') {
    await deps.requests.create(request);
    await deps.publisher.publish([newEvent('request.pending_approval', { requestId, commonName: input.commonName, reasons: verdict.reasons, requestedBy }, ctx(deps, requestId, `pending:${requestId}`))]);
    return answerOf(request);
  }
  // Allowed: the request is recorded before the CA is asked (whoever reads the certificate finds
  // its request, and who asked), and moved on to its outcome after.
  await deps.requests.create(request);
  let outcome: Awaited<ReturnType<typeof issueRequest>>;
  try {
    outcome = await issueRequest(request, deps);
  } catch (err) {
    await refuseIssuance(request, err, deps);
    throw err;
  }
  const { request: done, privateKeyPem } = outcome;
  await deps.requests.transition(requestId, 'approved', { status: done.status, certificateId: done.certificateId, validationReference: done.validationReference, validationRecords: done.validationRecords });
  return { ...answerOf(done), ...(input.returnPrivateKey && privateKeyPem ? { privateKeyPem } : {}) };
}

/** An allowed request the CA (or its policy gate) did not sign: rejected with why, so it does not wait for ever. */
async function refuseIssuance(request: CertificateRequest, err: unknown, deps: IssuanceDeps): Promise<void> {
  const reasons = err instanceof PolicyError ? err.reasons : [`the CA did not issue: ${(err as Error).message}`];
  const now = deps.clock.now();
  if (await deps.requests.transition(request.requestId, 'approved', { status: 'rejected', reasons, decidedBy: 'issuance', decidedAt: now.toISOString() })) {
    await deps.publisher.publish([newEvent('request.rejected', { requestId: request.requestId, decidedBy: 'issuance', reasons }, ctx(deps, request.requestId, `rejected:${request.requestId}`))]);
  }
}
