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
import { PAGING, integer, itemsOf, object, ref, string, strings } from '../../shared/api-schemas.ts';

const rt = issuanceRuntime;

/** 201 issued, 202 waiting for approval, 403 refused by policy (CONTRACT.md). */
const STATUS = { issued: 201, approved: 201, pending_approval: 202, pending_validation: 202, rejected: 403 } as const;

export const api = apiHandler({
  'POST /certificates': {
    doc: {
      summary: 'Requests a certificate: issued at once when policy allows it, kept for an approver when it asks for one, refused with reasons when it forbids it',
      description: 'An Idempotency-Key header makes a retry get the first answer.',
      body: object(['commonName'], {
        commonName: string, subjectAlternativeNames: strings, csr: { ...string, description: 'a PEM CSR; without one certops generates the key (keyAlgorithm)' },
        keyAlgorithm: { ...string, description: 'EC_P256, EC_P384, RSA_2048, RSA_3072 or RSA_4096' }, validityDays: integer, profile: { enum: ['tls-server', 'tls-client'] },
        environment: string, owner: string, issuer: string, targets: strings, returnPrivateKey: { type: 'boolean' },
      }),
      // 403: refused by policy (the request, with its reasons), or a caller that may not ask (an error).
      responses: { 201: ref('RequestAnswer'), 202: ref('RequestAnswer'), 403: { anyOf: [ref('RequestAnswer'), ref('Error')] } },
    },
    role: 'requester',
    async run(req) {
      const input = parseRequestInput(req.body, rt().config.defaultIssuer);
      const answer = await requestCertificate(input, req.caller, req.headers['idempotency-key'] || undefined, rt());
      return { status: STATUS[answer.status], body: answer };
    },
  },
  'GET /requests': {
    doc: {
      summary: 'Lists certificate requests, newest first',
      query: { ...PAGING, pending: { enum: ['true', 'false'], description: 'true: only those waiting for an approver' } },
      responses: { 200: itemsOf(ref('CertificateRequest'), true) },
    },
    role: 'viewer',
    async run(req) {
      const pending = oneOf(req.query, 'pending', ['true', 'false'], 'false') === 'true';
      const page = await rt().requests.list({ pending, limit: queryInteger(req.query, 'limit', 100, 1, 1000), nextToken: req.query.nextToken || undefined });
      return { status: 200, body: page };
    },
  },
  'GET /requests/{id}': {
    doc: { summary: 'One certificate request', responses: { 200: ref('CertificateRequest') } },
    role: 'viewer',
    async run(req) {
      const request = await rt().requests.get(req.params.id);
      if (!request) throw new NotFoundError(`no request ${req.params.id}`, 'id');
      return { status: 200, body: request };
    },
  },
  'POST /requests/{id}/approve': {
    doc: { summary: 'An approver other than the requester allows a pending request (it is issued)', body: object([], { comment: string }), responses: { 200: ref('RequestAnswer') } },
    role: 'approver',
    run: async (req) => ({ status: 200, body: await approveRequest(req.params.id, req.caller.name, req.body, rt()) }),
  },
  'POST /requests/{id}/reject': {
    doc: { summary: 'An approver other than the requester refuses a pending request', body: object([], { comment: string }), responses: { 200: ref('RequestAnswer') } },
    role: 'approver',
    run: async (req) => ({ status: 200, body: await rejectRequest(req.params.id, req.caller.name, req.body, rt()) }),
  },
  'POST /certificates/{id}/revoke': {
    doc: {
      summary: 'Revokes a certificate (RFC 5280 5.3.1 reason); dryRun says what would be revoked',
      body: object(['reason'], { reason: { ...string, description: 'keyCompromise, caCompromise, affiliationChanged, superseded, cessationOfOperation, ...' }, dryRun: { type: 'boolean' } }),
      responses: { 200: object(['reason'], { certificateId: string, status: string, reason: string, revokedAt: string, dryRun: { type: 'boolean' }, wouldRevoke: { type: 'array' } }) },
    },
    role: 'approver',
    run: async (req) => ({ status: 200, body: await revokeOne(req.params.id, req.body, req.caller.name, rt()) }),
  },
  'POST /revocations': {
    doc: {
      summary: 'Revokes every certificate of an issuer or a key (a compromised CA or key); dryRun lists them',
      body: object(['reason'], { reason: string, issuer: string, spkiSha256: string, dryRun: { type: 'boolean' } }),
      responses: { 200: object(['dryRun', 'reason'], { dryRun: { type: 'boolean' }, reason: string, revoked: { type: 'array' }, wouldRevoke: { type: 'array' } }) },
    },
    role: 'admin',
    run: async (req) => ({ status: 200, body: await revokeMany(req.body, req.caller.name, rt()) }),
  },
  'GET /ca/chain': {
    doc: { summary: 'The built-in CA\'s chain (intermediate, root), PEM', responses: { 200: { contentType: 'application/pem-certificate-chain', description: 'the chain, PEM' } } },
    role: 'public',
    async run() {
      return { status: 200, contentType: 'application/pem-certificate-chain', body: await (await rt().authority('local')).chainPem() };
    },
  },
  'GET /ca/local.crt': {
    doc: { summary: 'The built-in CA\'s issuing certificate, DER: what issued certificates\' CA issuers URL names (RFC 5280 4.2.2.1)', responses: { 200: { contentType: 'application/pkix-cert', description: 'the certificate, DER' } } },
    role: 'public',
    async run() {
      // The built-in CA's issuing (intermediate) certificate, the first of its chain, in DER: what issued certificates' AIA names.
      const [issuing] = certificateBlocks(await (await rt().authority('local')).chainPem(), 'chain');
      return { status: 200, contentType: 'application/pkix-cert', body: issuing };
    },
  },
  'GET /.well-known/acme-challenge/{token}': {
    doc: { summary: 'The http-01 answer for an ACME CA validating a name certops ordered (RFC 8555 8.3): the key authorization, text', responses: { 200: { contentType: 'application/octet-stream', description: 'the key authorization' } } },
    role: 'public',
    async run(req) {
      // A token is base64url (RFC 8555 8.1): anything else was never one of ours.
      const keyAuthorization = /^[A-Za-z0-9_-]{16,128}$/.test(req.params.token) ? await rt().acmeAnswers.get(req.params.token, rt().clock.now()) : undefined;
      if (!keyAuthorization) throw new NotFoundError('no challenge with this token', 'token');
      return { status: 200, contentType: 'application/octet-stream', body: keyAuthorization };
    },
  },
  'GET /crl/{file}': {
    doc: { summary: 'A CA\'s CRL (RFC 5280 5), DER: /crl/<ca>.crl', responses: { 200: { contentType: 'application/pkix-crl', description: 'the CRL, DER' } } },
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
