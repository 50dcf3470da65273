import { lambda } from '../../adapters/lambda.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { issuanceRuntime } from './runtime.ts';
import { ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { roleAllows } from '../../shared/api-token.ts';
import { parseRequestInput } from './request-input.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { oneOf, queryInteger } from '../../shared/input.ts';
import { requestCertificate } from './request-certificate.ts';
import { completeValidations } from './issue-request.ts';
import { recoverIssuances } from './recover-issuances.ts';
import { LEASE_MS } from '../../shared/lease.ts';
import { approveRequest, expirePendingRequests, rejectRequest } from './decide-request.ts';
import { revokeMany, revokeOne } from './revoke-certificates.ts';
import { recoverStaleAnnouncements } from '../../shared/announce.ts';
import { ISSUANCE } from './announcements.ts';
import { issuanceProofs } from './proofs.ts';

const rt = issuanceRuntime;

/** 201 issued, 202 waiting for approval, 403 refused by policy (CONTRACT.md). */
const STATUS = { issued: 201, approved: 201, pending_approval: 202, pending_validation: 202, rejected: 403 } as const;

export const api = apiHandler({
  'POST /certificates': {
    role: 'requester',
    async run(req) {
      const input = parseRequestInput(req.body, rt().config.defaultIssuer);
      const answer = await requestCertificate(input, req.caller, req.headers['idempotency-key'] || undefined, rt());
      return { status: STATUS[answer.status], body: answer };
    },
  },
  'GET /requests': {
    role: 'viewer',
    async run(req) {
      const pending = oneOf(req.query, 'pending', ['true', 'false'], 'false') === 'true';
      const page = await rt().requests.list({ pending, limit: queryInteger(req.query, 'limit', 100, 1, 1000), nextToken: req.query.nextToken || undefined });
      return { status: 200, body: page };
    },
  },
  'GET /requests/{id}': {
    role: 'viewer',
    async run(req) {
      const request = await rt().requests.get(req.params.id);
      if (!request) throw new NotFoundError(`no request ${req.params.id}`, 'id');
      return { status: 200, body: request };
    },
  },
  'POST /requests/{id}/approve': {
    role: 'approver',
    run: async (req) => ({ status: 200, body: await approveRequest(req.params.id, req.caller.name, req.body, rt()) }),
  },
  'POST /requests/{id}/reject': {
    role: 'approver',
    run: async (req) => ({ status: 200, body: await rejectRequest(req.params.id, req.caller.name, req.body, rt()) }),
  },
  'POST /certificates/{id}/revoke': {
    role: 'approver',
    run: async (req) => ({ status: 200, body: await revokeOne(req.params.id, req.body, req.caller.name, rt()) }),
  },
  'POST /revocations': {
    role: 'admin',
    run: async (req) => ({ status: 200, body: await revokeMany(req.body, req.caller.name, rt()) }),
  },
  'GET /ca/chain': {
    role: 'public',
    async run() {
      return { status: 200, contentType: 'application/pem-certificate-chain', body: await (await rt().authority('local')).chainPem() };
    },
  },
  'GET /ca/local.crt': {
    role: 'public',
    async run() {
      // The built-in CA's issuing (intermediate) certificate, the first of its chain, in DER: what issued certificates' AIA names.
      const [issuing] = certificateBlocks(await (await rt().authority('local')).chainPem(), 'chain');
      return { status: 200, contentType: 'application/pkix-cert', body: issuing };
    },
  },
  'GET /crl/{file}': {
    role: 'public',
    async run(req) {
      const caId = req.params.file.replace(/\.crl$/, '');
      const ca = req.params.file.endsWith('.crl') && (caId === 'local' || Object.hasOwn(rt().suite.issuers, caId)) ? await rt().authority(caId) : undefined;
      if (!ca?.crlDer) throw new NotFoundError(`no CRL ${req.params.file}`, 'file');
      return { status: 200, contentType: 'application/pkix-crl', body: await ca.crlDer() };
    },
  },
}, rt);

/**
 * certificate.requested from another system. Its requester is the principal whose token the event
 * source is bound to (the bus admitted the source for that principal only), never the source name
 * itself; the event id is the idempotency key.
 */
export const events = eventHandler(async (event) => {
  const principal = await rt().tokens.byEventSource(event.source, rt().clock.now());
  if (!principal || !roleAllows(principal.role, 'requester')) throw new ForbiddenError(`no live token with the right to request certificates is bound to the event source ${event.source}`, 'source');
  const input = parseRequestInput(event.detail, rt().config.defaultIssuer);
  await requestCertificate(input, principal, String(event.detail.eventId ?? event.id), rt());
});

/**
 * Scheduled: pending requests nobody decided in time are rejected; validated ones are collected;
 * issuances nobody is finishing (a crash, a failing CA) are finished.
 */
export const expirePending = lambda(async () => ({
  ...(await expirePendingRequests(rt())),
  ...(await completeValidations(rt())),
  recovered: await recoverIssuances(rt(), 2 * LEASE_MS),
}));

/** Scheduled: what a dead invocation changed and did not announce is announced (revocations it began are finished). */
export const recover = lambda(async () => recoverStaleAnnouncements(ISSUANCE, issuanceProofs, rt()));
