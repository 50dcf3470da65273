import { ConflictError, ForbiddenError, ValidationError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { CertificateRequest, Role } from '../../shared/model.ts';
import type { TargetStore } from '../../shared/ports.ts';
import { LEASE_MS } from '../../shared/lease.ts';
import { targetRefusal } from '../../shared/target-access.ts';
import { judge } from '../../shared/signing-policy.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import type { RequestInput } from './request-input.ts';
import { answerOf, eventContext, finishIssuance, type IssuanceDeps, type RequestAnswer } from './issue-request.ts';
import { announceAfter } from '../../shared/announce.ts';
import { ISSUANCE, announceRejection } from './announcements.ts';

const HOUR_MS = 3_600_000;
/** How long a duplicate waits for the first request with the same idempotency key to finish. */
const DUPLICATE_WAIT_MS = 10_000;

/**
 * The answer for a request an earlier attempt with the same idempotency key made. That attempt
 * may still be at work (wait for it), may have died before recording its request (after its
 * lease, or at once when its process is known to be gone, this attempt starts the work anew:
 * `undefined`), or may have died while issuing (this attempt finishes the issuance). A 409 only while another attempt is alive and has not finished in time.
 */
async function answerOfExisting(claim: { requestId: string; claimedAt: string }, attempt: string, deps: IssuanceDeps): Promise<RequestAnswer | undefined> {
  const deadline = Date.now() + DUPLICATE_WAIT_MS;
  for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const existing = await deps.requests.get(claim.requestId);
    if (existing && existing.status !== 'approved') return answerOf(existing);
    const claimed = Date.parse(claim.claimedAt);
    if (!existing && (claimed + LEASE_MS < deps.clock.now().getTime() || claimed < (deps.ownersGoneBefore?.getTime() ?? -Infinity))) return undefined;
    if (existing) {
      try {
        return answerOf((await finishIssuance(existing.requestId, attempt, deps)).request);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new ConflictError('a request with this idempotency key is still being processed; retry later', 'Idempotency-Key');
}

/** The key the request brings (its CSR, self-signature checked, no names beyond the request's) or the one it asks certops to make. */
async function requestedKey(input: RequestInput) {
  if (!input.csr) return { keyAlgorithm: input.keyAlgorithm };
  const csr = await readCsr(input.csr);
  // Both sides are canonical (normaliseName): td.example.com. is td.example.com, ::ffff:192.0.2.7 is 192.0.2.7.
  const extra = csr.names.filter((n) => !input.subjectAlternativeNames.includes(n));
  if (extra.length) throw new ValidationError(`csr names ${extra.join(', ')} that the request does not`, 'csr');
  return { keyAlgorithm: csr.keyAlgorithm, csr };
}

const MAX_IDEMPOTENCY_KEY = 200;

/**
 * Takes a validated request through policy: allowed ones are issued at once, out-of-policy ones
 * wait for an approver, forbidden ones are refused with reasons. Idempotent per
 * `idempotencyKey`: a retry (even one arriving at the same moment) gets the first answer.
 */
export async function requestCertificate(input: RequestInput, requester: { name: string; role: Role; onBehalfOf?: string; mayWaitForApproval?: boolean }, idempotencyKey: string | undefined, deps: IssuanceDeps & { targets: Pick<TargetStore, 'get'> }): Promise<RequestAnswer> {
  const requestedBy = requester.name;
  let requestId = deps.newId();
  if (idempotencyKey) {
    // The key becomes part of a stored key (at most 1 KB in a sort key): bound and printable.
    if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(idempotencyKey)) throw new ValidationError(`Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY} printable ASCII characters`, 'Idempotency-Key');
    const key = `${requestedBy}:${idempotencyKey}`;
    const claim = await deps.requests.claimIdempotencyKey(key, requestId, deps.clock.now());
    deps.crashPoint?.('issuance:after-claim');
    if (claim.requestId !== requestId) {
      const answer = await answerOfExisting(claim, `retry:${requestId}`, deps);
      if (answer) return answer;
      // The first attempt died before it recorded anything: this one does the work, under the key.
      if (!(await deps.requests.reclaimIdempotencyKey(key, claim.requestId, requestId, deps.clock.now()))) throw new ConflictError('a request with this idempotency key is being processed; retry later', 'Idempotency-Key');
    }
  }
  await deps.authority(input.issuer);
  const key = await requestedKey(input);
  // The same judgement the CA's policy gate makes again at signing time, with the environment resolved first.
  const judged = judge(deps, { commonName: input.commonName, names: input.subjectAlternativeNames, keyAlgorithm: key.keyAlgorithm, validityDays: input.validityDays, profile: input.profile, environment: input.environment, owner: input.owner });
  const { environment, owner } = judged;
  // A requester no person stands behind (an ACME account without a binding) cannot ask an approver: whoever approved might be whoever asked.
  const verdict = judged.verdict.decision === 'needs_approval' && requester.mayWaitForApproval === false
    ? { decision: 'deny' as const, reasons: [...judged.verdict.reasons, 'this needs an approver, and no certops principal is bound to the ACME account that asks (External Account Binding)'] }
    : judged.verdict;
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
    // Whoever a machine asks for (an ACME account's binding) may not decide the request either (four eyes).
    ...(requester.onBehalfOf ? { askedBy: requester.onBehalfOf } : {}),
    reasons: verdict.reasons,
    createdAt: now.toISOString(),
    csrPem: input.csr,
    keyAlgorithm: key.keyAlgorithm,
    ...(verdict.decision === 'needs_approval' ? { expiresAt: new Date(now.getTime() + deps.policy.approvalTimeoutHours * HOUR_MS).toISOString() } : {}),
    ...(verdict.decision === 'deny' ? { decidedBy: 'policy', decidedAt: now.toISOString() } : {}),
  };
  if (verdict.decision === 'deny') {
    await announceRejection({ requestId, decidedBy: 'policy', comment: 'refused by policy', reasons: verdict.reasons, at: now }, async () => (await deps.requests.create(request), true), deps);
    return answerOf(request);
  }
  if (verdict.decision === 'needs_approval') {
    const pending = newEvent('request.pending_approval', { requestId, commonName: input.commonName, reasons: verdict.reasons, requestedBy }, { ...eventContext(deps, requestId, `pending:${requestId}`), now: () => now });
    await announceAfter(ISSUANCE, [pending], () => deps.requests.create(request), deps);
    return answerOf(request);
  }
  // Allowed: the request is recorded (the intent) before the CA is asked, and moved on to its
  // outcome after; a crash in between is finished by a retry or the recovery sweep. It is created
  // holding its lease: this attempt signs it, without a write to take the lease first.
  const attempt = `request:${requestId}`;
  const created = await deps.requests.create(request, { owner: attempt, until: new Date(now.getTime() + LEASE_MS), since: now });
  const { request: done, privateKeyPem } = await finishIssuance(requestId, attempt, deps, created ? { request, csr: key.csr } : undefined);
  return { ...answerOf(done), ...(input.returnPrivateKey && privateKeyPem ? { privateKeyPem } : {}) };
}
