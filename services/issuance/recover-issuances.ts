import { announceApprovalAgain, finishIssuance, rejectUnderLease, RequestBeingIssuedError, type IssuanceDeps } from './issue-request.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import { announceRejection, rejectedDecision, type Rejection } from './announcements.ts';

const HOUR_MS = 3_600_000;

export interface Recovery {
  finished: string[];
  expired: string[];
  /** Still not issued, with why: another attempt holds the lease, or the CA failed again (the next sweep tries again). */
  waiting: string[];
}

/**
 * Finishes the issuances nobody is finishing: requests allowed or approved more than `graceMs`
 * ago and still not issued, because the process died between asking the CA and recording its
 * answer, or the CA kept failing. Each is finished as a retry would (under its lease; the CA
 * answers the same certificate for the same request), so no certificate the CA signed stays unknown
 * to the inventory. One that outlived the approval timeout, and that the CA never signed, is rejected
 * as expired instead.
 */
export async function recoverIssuances(deps: IssuanceDeps, graceMs: number): Promise<Recovery> {
  const now = deps.clock.now();
  const result: Recovery = { finished: [], expired: [], waiting: [] };
  for (const request of await deps.requests.issuingBefore(new Date(now.getTime() - graceMs))) {
    // A renewal's approval waits for its renewal saga, which signs; nothing of it is the CA's yet.
    if (request.renews) continue;
    const expiresAt = Date.parse(request.decidedAt ?? request.createdAt) + deps.policy.approvalTimeoutHours * HOUR_MS;
    // One request that cannot go on (its CA is down, or no longer configured) does not hold up the others.
    try {
      // What the CA already signed is recorded however long the outage lasted: only a request it never signed lapses.
      // A CA certops cannot reach through its configuration any more (gone, or no tls-alpn-01 responder) signed nothing it could record.
      const ca = await deps.authority(request.issuer).catch(() => undefined);
      if (expiresAt < now.getTime() && !(await ca?.signedFor?.(request.requestId)) && (await lapse(request, expiresAt, now, deps))) {
        result.expired.push(request.requestId);
        continue;
      }
      await finishIssuance(request.requestId, `recovery:${deps.newId()}`, deps);
      result.finished.push(request.requestId);
    } catch (err) {
      result.waiting.push(`${request.requestId}: ${err instanceof RequestBeingIssuedError ? 'being issued' : (err as Error).message}`);
    }
  }
  return result;
}

/** An approved request the CA never signed, rejected as expired (its approval announced first); false when another attempt holds it or moved it on. */
async function lapse(request: CertificateRequest, expiresAt: number, now: Date, deps: IssuanceDeps): Promise<boolean> {
  const rejection: Rejection = { requestId: request.requestId, decidedBy: 'expiry', comment: `not issued by ${new Date(expiresAt).toISOString()}`, reasons: request.reasons, at: now };
  return announceRejection(rejection, async () => {
    await announceApprovalAgain(request, deps);
    return (await rejectUnderLease(request.requestId, `recovery:${deps.newId()}`, rejectedDecision(rejection), deps))?.value ?? false;
  }, deps);
}
