import { CertopsError, ConflictError, ForbiddenError, NotFoundError, PolicyError, UnauthorizedError, ValidationError } from '../../../shared/errors.ts';
import type { AcmeProblemDocument } from '../../../shared/acme-server.ts';

/** The error types of RFC 8555 6.7 (and RFC 9773 7.4) certops' ACME server answers with. */
export type AcmeErrorType =
  | 'accountDoesNotExist' | 'alreadyRevoked' | 'alreadyReplaced' | 'badCSR' | 'badPublicKey' | 'badNonce' | 'badRevocationReason' | 'badSignatureAlgorithm'
  | 'connection' | 'dns' | 'externalAccountRequired' | 'incorrectResponse' | 'invalidContact' | 'malformed' | 'orderNotReady'
  | 'rejectedIdentifier' | 'serverInternal' | 'tls' | 'unauthorized' | 'unsupportedContact' | 'unsupportedIdentifier';

const STATUS: Partial<Record<AcmeErrorType, number>> = {
  accountDoesNotExist: 400, alreadyRevoked: 400, alreadyReplaced: 409, badCSR: 400, badPublicKey: 400, badNonce: 400, badRevocationReason: 400, badSignatureAlgorithm: 400,
  externalAccountRequired: 400, invalidContact: 400, malformed: 400, orderNotReady: 403, rejectedIdentifier: 400, serverInternal: 500, unauthorized: 403,
  unsupportedContact: 400, unsupportedIdentifier: 400,
};

/** A refusal as an ACME client reads it: a problem document with `urn:ietf:params:acme:error:` type and a detail. */
export class AcmeProblem extends Error {
  readonly status: number;
  constructor(readonly type: AcmeErrorType, readonly detail: string, status?: number, readonly extra: { algorithms?: string[]; location?: string } = {}) {
    super(detail);
    this.status = status ?? STATUS[type] ?? 400;
  }

  document(): AcmeProblemDocument & Record<string, unknown> {
    return { type: `urn:ietf:params:acme:error:${this.type}`, detail: this.detail, status: this.status, ...(this.extra.algorithms ? { algorithms: this.extra.algorithms } : {}) };
  }
}

/** Any error as a problem: certops' typed errors keep their status and meaning; anything else is serverInternal. */
export function problemOf(err: unknown): AcmeProblem {
  if (err instanceof AcmeProblem) return err;
  if (err instanceof PolicyError) return new AcmeProblem('rejectedIdentifier', err.reasons.join('; '));
  if (err instanceof ValidationError) return new AcmeProblem(err.field === 'csr' ? 'badCSR' : 'malformed', err.message);
  if (err instanceof UnauthorizedError || err instanceof ForbiddenError) return new AcmeProblem('unauthorized', err.message);
  if (err instanceof NotFoundError) return new AcmeProblem('malformed', err.message, 404);
  if (err instanceof ConflictError) return new AcmeProblem('malformed', err.message, 409);
  if (err instanceof CertopsError) return new AcmeProblem('serverInternal', err.message, err.status >= 500 ? err.status : 500);
  return new AcmeProblem('serverInternal', 'internal error', 500);
}
