import type { Proofs } from '../../shared/announce.ts';
import type { IssuanceDeps } from './issue-request.ts';
import { finishRevocation, type RevocationDeps } from './revoke-certificates.ts';

const requestOf = (deps: IssuanceDeps, requestId: unknown) => deps.requests.get(String(requestId));

/** Whether what an issuance intent announces is in the store (a revocation is finished: it was asked for, and a CA's is final). */
export const issuanceProofs: Proofs<IssuanceDeps & RevocationDeps> = {
  'request.rejected': async (e, deps) => {
    const request = await requestOf(deps, e.detail.requestId);
    return request?.status === 'rejected' && request.decidedAt === e.detail.occurredAt;
  },
  'request.approved': async (e, deps) => {
    const request = await requestOf(deps, e.detail.requestId);
    return request !== undefined && request.status !== 'pending_approval' && request.decidedBy === e.detail.decidedBy && request.decidedAt === e.detail.occurredAt;
  },
  'request.pending_approval': async (e, deps) => (await requestOf(deps, e.detail.requestId))?.createdAt === e.detail.occurredAt,
  'certificate.revoked': async (e, deps) => finishRevocation(e, deps),
};
