/** Errors every layer raises; the HTTP edge maps `status` to the response, the CLI to its exit code. */
export abstract class CertopsError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller sent something unusable; `field` names the part of the input that is wrong. */
export class ValidationError extends CertopsError {
  readonly status = 400;
  readonly code = 'invalid_input';
}

export class UnauthorizedError extends CertopsError {
  readonly status = 401;
  readonly code = 'unauthorized';
}

export class ForbiddenError extends CertopsError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export class NotFoundError extends CertopsError {
  readonly status = 404;
  readonly code = 'not_found';
}

/** The request conflicts with the current state (a lock held, a decision already taken). */
export class ConflictError extends CertopsError {
  readonly status = 409;
  readonly code = 'conflict';
}

/**
 * The CA refused, for good, to issue what the request asks as it stands (an ACME order the CA found
 * invalid, a challenge or profile it does not offer, names the issuer cannot prove, a certificate
 * other than the one asked for): the request ends rejected with this reason, rather than being
 * tried again.
 */
export class IssuerRefusedError extends ConflictError {}

/** The caller is over a limit; `retryAfterSeconds` says when to try again (the Retry-After header). */
export class TooManyRequestsError extends CertopsError {
  readonly status = 429;
  readonly code = 'too_many_requests';
  constructor(message: string, field: string, readonly retryAfterSeconds: number) {
    super(message, field);
  }
}

/** A store too contended to take a write now (every try found it moved on): nothing is wrong with what was asked, and it is tried again later. */
export class BusyError extends CertopsError {
  readonly status = 503;
  readonly code = 'busy';
}

/** Policy does not let this be signed; `reasons` says why, each in words a requester can act on. */
export class PolicyError extends CertopsError {
  readonly status = 403;
  readonly code = 'refused_by_policy';
  /** @param needsApproval the policy would allow it with an approver's yes (names outside the allowed ones), not a hard limit. */
  constructor(readonly reasons: string[], readonly needsApproval = false) {
    super(`refused by policy: ${reasons.join('; ')}`, 'policy');
  }
}

/** A server certops relies on (a CRL distribution point, an OCSP responder) could not be reached or answered badly; `field` names its URL. */
export class UpstreamError extends CertopsError {
  readonly status = 502;
  readonly code = 'upstream_failed';
}

/**
 * A server certops relies on (a CT log) answered "not now" (429, 5xx) and was not waited for;
 * `field` names its URL, `retryAt` is when it asked to be asked again (Retry-After), if it said.
 */
export class RetryLaterError extends UpstreamError {
  constructor(message: string, field: string, readonly retryAt?: Date) {
    super(message, field);
  }
}

/** A step of a longer process failed; `step` says which one, for sagas and alerts. */
export class StepError extends Error {
  constructor(readonly step: string, message: string, readonly transient = false) {
    super(`${step}: ${message}`);
    this.name = 'StepError';
  }
}
