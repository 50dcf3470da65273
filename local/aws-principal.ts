import type { IncomingMessage } from 'node:http';
import { authenticateToken, bearerToken, type Caller } from '../shared/api-token.ts';
import type { Clock, TokenStore } from '../shared/ports.ts';
import { UnauthorizedError } from '../shared/errors.ts';
import { verifySuiteSignature, type SuiteCredentials } from './suite-signature.ts';

/** Who called the local AWS-protocol endpoint: one of the suite's own functions, or an outside principal with a token. */
export type AwsPrincipal = { kind: 'suite' } | { kind: 'caller'; caller: Caller };

/**
 * Authenticates a call to the local AWS-protocol endpoint, the one door for both kinds of caller:
 * a Signature Version 4 signature by the suite's credentials is the suite itself (on AWS, the
 * functions' roles); `Authorization: Bearer <token>` is an outside principal, as on the HTTP API.
 * Anything else is a 401.
 */
export async function awsPrincipal(req: IncomingMessage, body: Buffer, credentials: SuiteCredentials, deps: { tokens: TokenStore; clock: Clock }): Promise<AwsPrincipal> {
  const authorization = String(req.headers.authorization ?? '');
  if (authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    await verifySuiteSignature(req, body, credentials, deps.clock.now());
    return { kind: 'suite' };
  }
  return { kind: 'caller', caller: await authenticateToken(bearerToken(authorization), deps) };
}

/**
 * Whether the caller may send a body at all, decided before it is read: a bearer token that
 * works, or a signature naming the suite's own key (checked in full with the body). UnauthorizedError
 * otherwise, so an anonymous client cannot make the server hold megabytes.
 */
export async function mayUpload(req: IncomingMessage, credentials: SuiteCredentials, deps: { tokens: TokenStore; clock: Clock }): Promise<void> {
  const authorization = String(req.headers.authorization ?? '');
  if (authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    if (!authorization.includes(`Credential=${credentials.accessKeyId}/`)) throw new UnauthorizedError('these AWS credentials are not the suite\'s own: outside callers send Authorization: Bearer <token>', 'Authorization');
    return;
  }
  await authenticateToken(bearerToken(authorization), deps);
}
