import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from './errors.ts';
import type { ApiToken, Role } from './model.ts';
import type { Clock, TokenStore } from './ports.ts';

/**
 * Bearer tokens: `cop_<id>_<secret>`. The id (20 hex digits) finds the token, the secret (256
 * random bits, base64url) proves it; only the secret's SHA-256 is stored, so the table never
 * holds a usable token.
 */
const FORMAT = /^cop_([0-9a-f]{20})_([A-Za-z0-9_-]{43})$/;

/** Who called: the token's principal, as the API and the bus's outside door see it. */
export interface Caller {
  tokenId: string;
  name: string;
  role: Role;
  /** PutEvents sources this principal may use for inbound events. */
  eventSources: string[];
}

export const secretHash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new token: its id, the secret's hash to store, and the whole token to show once. */
export function mintToken(): { tokenId: string; secretHash: string; token: string } {
  const tokenId = randomBytes(10).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { tokenId, secretHash: secretHash(secret), token: `cop_${tokenId}_${secret}` };
}

/** Whether the token can be used at `now`: not revoked, not expired. */
export function isLive(token: Pick<ApiToken, 'revokedAt' | 'expiresAt'>, now: Date): boolean {
  return !token.revokedAt && Date.parse(token.expiresAt) > now.getTime();
}

/**
 * The principal a bearer token stands for. Throws UnauthorizedError (401) when the token is
 * malformed, unknown, its secret does not match, or it is revoked or expired; the message says
 * which of the last two, never anything about the secret.
 */
export async function authenticateToken(token: string | undefined, deps: { tokens: TokenStore; clock: Clock }): Promise<Caller> {
  if (!token) throw new UnauthorizedError('an Authorization: Bearer token is required');
  const m = FORMAT.exec(token);
  const found = m ? await deps.tokens.get(m[1]) : undefined;
  const given = Buffer.from(secretHash(m?.[2] ?? ''), 'hex');
  if (!found || !timingSafeEqual(given, Buffer.from(found.secretHash, 'hex'))) throw new UnauthorizedError('the token is not valid');
  if (found.revokedAt) throw new UnauthorizedError(`the token ${found.tokenId} (${found.name}) was revoked at ${found.revokedAt}`);
  if (!isLive(found, deps.clock.now())) throw new UnauthorizedError(`the token ${found.tokenId} (${found.name}) expired at ${found.expiresAt}`);
  return { tokenId: found.tokenId, name: found.name, role: found.role, eventSources: found.eventSources };
}

/** Whether a role may do what `need` may: admins anything, viewer rights everyone. */
export function roleAllows(role: Role, need: Role): boolean {
  return role === 'admin' || role === need || need === 'viewer';
}

/** The token from an `Authorization: Bearer ...` header value, if it is one. */
export function bearerToken(header: string | undefined): string | undefined {
  return header?.match(/^Bearer\s+(\S+)$/i)?.[1];
}
