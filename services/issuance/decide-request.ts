import { ConflictError, ForbiddenError, NotFoundError, PolicyError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, optionalString } from '../../shared/input.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import type { LockStore } from '../../shared/ports.ts';
import { answerOf, issueRequest, type IssuanceDeps, type RequestAnswer } from './request-certificate.ts';

async function pending(requestId: string, deciderName: string, deps: IssuanceDeps): Promise<CertificateRequest> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new NotFoundError(`no request ${requestId}`, 'id');
  // Four eyes: whoever asked cannot also say yes or no.
  if (request.requestedBy === deciderName) throw new ForbiddenError(`${deciderName} made request ${requestId} and may not decide it`, 'id');
  return request;
}

function comment(body: unknown): string | undefined {
  return body === undefined ? undefined : optionalString(asObject(body), 'comment', 1000);
}

/** An approved request is issued under a lock: approvers racing, or one retrying after a crash, issue it once. */
const ISSUING_LOCK_MS = 5 * 60_000;

/**
 * An approver says yes: the request is issued. Exactly one decision wins (a conditional status
 * change); an approval that arrives while the request is being issued waits its turn and gets
 * the answer, and approving again after a crash mid-issuance finishes the issuance.
 */
export async function approveRequest(requestId: string, decidedBy: string, body: unknown, deps: IssuanceDeps & { locks: LockStore }): Promise<RequestAnswer> {
  const request = await pending(requestId, decidedBy, deps);
  const note = comment(body);
  const now = deps.clock.now();
  if (request.status === 'pending_approval') {
    if (request.expiresAt && request.expiresAt < now.toISOString()) {
      await lapse(request, deps);
      throw new ConflictError(`request ${requestId} expired at ${request.expiresAt} without a decision`, 'id');
    }
    const decision = { status: 'approved' as const, decidedBy, decisionComment: note, decidedAt: now.toISOString(), expiresAt: undefined };
    if (await deps.requests.transition(requestId, 'pending_approval', decision)) {
      await deps.publisher.publish([newEvent('request.approved', { requestId, decidedBy, comment: note }, { now: () => now, newId: () => `approved:${requestId}`, correlationId: requestId })]);
    }
  }
  const lock = `request/${requestId}`;
  if (!(await deps.locks.acquire(lock, `approve:${decidedBy}`, new Date(now.getTime() + ISSUING_LOCK_MS)))) {
    throw new ConflictError(`request ${requestId} is being issued; ask again in a moment`, 'id');
  }
  try {
    const current = (await deps.requests.get(requestId))!;
    if (current.status === 'issued' || current.status === 'pending_validation') return answerOf(current);
    if (current.status !== 'approved') throw new ConflictError(`request ${requestId} is ${current.status}, not waiting for approval`, 'id');
    let done: CertificateRequest;
    try {
      ({ request: done } = await issueRequest(current, deps));
    } catch (err) {
      // The configuration changed since it was asked: what policy now forbids, no approval lets through.
      if (err instanceof PolicyError) await refuseApproved(current, err.reasons, deps);
      throw err;
    }
    await deps.requests.transition(requestId, 'approved', { status: done.status, certificateId: done.certificateId, validationReference: done.validationReference, validationRecords: done.validationRecords });
    return answerOf(done);
  } finally {
    await deps.locks.release(lock, `approve:${decidedBy}`);
  }
}

/** An approved request that policy (as configured now) refuses at signing: rejected by policy, with the reasons. */
async function refuseApproved(request: CertificateRequest, reasons: string[], deps: IssuanceDeps): Promise<void> {
  const now = deps.clock.now();
  if (await deps.requests.transition(request.requestId, 'approved', { status: 'rejected', reasons, decidedBy: 'policy', decisionComment: 'refused by policy at signing', decidedAt: now.toISOString() })) {
    await deps.publisher.publish([newEvent('request.rejected', { requestId: request.requestId, decidedBy: 'policy', reasons, comment: 'refused by policy at signing' }, { now: () => now, newId: () => `rejected:${request.requestId}`, correlationId: request.requestId })]);
  }
}

/** An approver says no, with why. */
export async function rejectRequest(requestId: string, decidedBy: string, body: unknown, deps: IssuanceDeps): Promise<RequestAnswer> {
  const request = await pending(requestId, decidedBy, deps);
  const note = comment(body);
  const now = deps.clock.now().toISOString();
  if (!(await deps.requests.transition(requestId, 'pending_approval', { status: 'rejected', decidedBy, decisionComment: note, decidedAt: now, expiresAt: undefined }))) {
    throw new ConflictError(`request ${requestId} is ${(await deps.requests.get(requestId))?.status}, not waiting for approval`, 'id');
  }
  await deps.publisher.publish([newEvent('request.rejected', { requestId, decidedBy, comment: note, reasons: request.reasons }, { now: () => deps.clock.now(), newId: () => `rejected:${requestId}`, correlationId: requestId })]);
  return { ...answerOf(request), status: 'rejected' };
}

async function lapse(request: CertificateRequest, deps: IssuanceDeps): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  const lapsed = await deps.requests.transition(request.requestId, 'pending_approval', { status: 'rejected', decidedBy: 'expiry', decisionComment: `no decision by ${request.expiresAt}`, decidedAt: now, expiresAt: undefined });
  if (lapsed) {
    await deps.publisher.publish([newEvent('request.rejected', { requestId: request.requestId, decidedBy: 'expiry', comment: `no decision by ${request.expiresAt}`, reasons: request.reasons }, { now: () => deps.clock.now(), newId: () => `rejected:${request.requestId}`, correlationId: request.requestId })]);
  }
  return lapsed;
}

/** Scheduled: requests nobody decided in time are rejected as expired. */
export async function expirePendingRequests(deps: IssuanceDeps): Promise<{ expired: string[] }> {
  const expired: string[] = [];
  for (const request of await deps.requests.pendingExpiringBefore(deps.clock.now())) if (await lapse(request, deps)) expired.push(request.requestId);
  return { expired };
}
