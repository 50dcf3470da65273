import { announceAfter } from '../../shared/announce.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import type { IssuanceDeps } from './issue-request.ts';

/** The issuance service's partition of the announcement ledger. */
export const ISSUANCE = 'issuance';

export interface Rejection {
  requestId: string;
  /** A person, `policy` or `expiry`. */
  decidedBy: string;
  comment?: string;
  reasons: string[];
  at: Date;
}

/** The request's fields a rejection sets; its decidedAt dates the announcement (what recovery checks). */
export function rejectedDecision(r: Rejection): Partial<CertificateRequest> & { status: 'rejected' } {
  return { status: 'rejected', decidedBy: r.decidedBy, decisionComment: r.comment, decidedAt: r.at.toISOString(), expiresAt: undefined };
}

/**
 * Rejects a request and announces request.rejected, the announcement recorded first (see
 * announceAfter). `change` writes rejectedDecision(r) and answers whether it did.
 */
export function announceRejection(r: Rejection, change: () => Promise<boolean>, deps: IssuanceDeps): Promise<boolean> {
  const event = newEvent('request.rejected', { requestId: r.requestId, decidedBy: r.decidedBy, comment: r.comment, reasons: r.reasons }, { now: () => r.at, newId: () => `rejected:${r.requestId}`, correlationId: r.requestId });
  return announceAfter(ISSUANCE, [event], change, deps);
}
