import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, optionalString } from '../../shared/input.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import { announceApprovalAgain, answerOf, finishIssuance, rejectUnderLease, type IssuanceDeps, type RequestAnswer } from './issue-request.ts';
import { announceAfter } from '../../shared/announce.ts';
import { ISSUANCE, announceRejection, rejectedDecision, type Rejection } from './announcements.ts';

async function pending(requestId: string, deciderName: string, deps: IssuanceDeps): Promise<CertificateRequest> {
  const request = await deps.requests.get(requestId);
  if (!request) throw new NotFoundError(`no request ${requestId}`, 'id');
  // Four eyes: whoever asked cannot also say yes or no (for a renewal's approval, neither the
  // certificate's requester, nor whoever asked for the renewal, nor the person an ACME account ordered it for).
  if ([request.requestedBy, request.askedBy, request.orderedFor].includes(deciderName)) throw new ForbiddenError(`${deciderName} made request ${requestId} and may not decide it`, 'id');
  return request;
}

function comment(body: unknown): string | undefined {
  return body === undefined ? undefined : optionalString(asObject(body), 'comment', 1000);
}

/**
 * An approver says yes: the request is issued. Exactly one decision wins (a conditional status
 * change); an approval that arrives while the request is being issued waits its turn and gets
 * the answer, and approving again after a crash mid-issuance finishes the issuance.
 */
export async function approveRequest(requestId: string, decidedBy: string, body: unknown, deps: IssuanceDeps): Promise<RequestAnswer> {
  const request = await pending(requestId, decidedBy, deps);
  const note = comment(body);
  const now = deps.clock.now();
  if (request.status === 'pending_approval') {
    if (request.expiresAt && request.expiresAt < now.toISOString()) {
      await lapse(request, deps);
      throw new ConflictError(`request ${requestId} expired at ${request.expiresAt} without a decision`, 'id');
    }
    const decision = { status: 'approved' as const, decidedBy, decisionComment: note, decidedAt: now.toISOString(), expiresAt: undefined };
    const approved = newEvent('request.approved', { requestId, decidedBy, comment: note }, { now: () => now, newId: () => `approved:${requestId}`, correlationId: requestId });
    await announceAfter(ISSUANCE, [approved], () => deps.requests.transition(requestId, 'pending_approval', decision), deps);
  }
  const current = (await deps.requests.get(requestId))!;
  // A renewal's approval: the renewal service renews on request.approved.
  if (current.status === 'issued' || current.status === 'pending_validation' || current.renews) return answerOf(current);
  if (current.status !== 'approved') throw new ConflictError(`request ${requestId} is ${current.status}, not waiting for approval`, 'id');
  try {
    return answerOf((await finishIssuance(requestId, `approve:${decidedBy}:${deps.newId()}`, deps)).request);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    // Another attempt is issuing it (the requester's retry, an ACME client polling its order): the approval stands, and the outcome is that attempt's.
    return answerOf(await outcomeOf(requestId, deps));
  }
}

/** How long an approver's answer waits for an issuance another attempt is making. */
const OUTCOME_WAIT_MS = 10_000;

/** The request once it has left `approved` (or as it stands after OUTCOME_WAIT_MS). */
async function outcomeOf(requestId: string, deps: IssuanceDeps): Promise<CertificateRequest> {
  const deadline = Date.now() + OUTCOME_WAIT_MS;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const request = (await deps.requests.get(requestId))!;
    if (request.status !== 'approved' || Date.now() > deadline) return request;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * An approver says no, with why: to a request waiting for approval, or to an approved one whose
 * issuance has not succeeded (the CA kept failing), taken from under no running attempt.
 */
export async function rejectRequest(requestId: string, decidedBy: string, body: unknown, deps: IssuanceDeps): Promise<RequestAnswer> {
  const request = await pending(requestId, decidedBy, deps);
  const rejection: Rejection = { requestId, decidedBy, comment: comment(body), reasons: request.reasons, at: deps.clock.now() };
  let beingIssued = false;
  const rejected = await announceRejection(rejection, async () => {
    if (request.status !== 'approved') return deps.requests.transition(requestId, 'pending_approval', rejectedDecision(rejection));
    await announceApprovalAgain(request, deps);
    const held = await rejectUnderLease(requestId, `reject:${decidedBy}:${deps.newId()}`, rejectedDecision(rejection), deps);
    beingIssued = !held;
    return held?.value ?? false;
  }, deps);
  if (!rejected) {
    // Requests are leased only while approved: a lease refused to a request that moved on says nothing of an issuance.
    const status = (await deps.requests.get(requestId))?.status;
    throw new ConflictError(`request ${requestId} is ${status}${beingIssued && status === 'approved' ? ' and being issued' : ''}, not waiting for a decision`, 'id');
  }
  return { ...answerOf(request), status: 'rejected' };
}

function lapse(request: CertificateRequest, deps: IssuanceDeps): Promise<boolean> {
  const rejection: Rejection = { requestId: request.requestId, decidedBy: 'expiry', comment: `no decision by ${request.expiresAt}`, reasons: request.reasons, at: deps.clock.now() };
  return announceRejection(rejection, () => deps.requests.transition(request.requestId, 'pending_approval', rejectedDecision(rejection)), deps);
}

/** Scheduled: requests nobody decided in time are rejected as expired. */
export async function expirePendingRequests(deps: IssuanceDeps): Promise<{ expired: string[] }> {
  const expired: string[] = [];
  for (const request of await deps.requests.pendingExpiringBefore(deps.clock.now())) if (await lapse(request, deps)) expired.push(request.requestId);
  return { expired };
}
