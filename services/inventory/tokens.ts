import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { mintToken } from '../../shared/api-token.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, oneOf, optionalString, requiredString, stringList } from '../../shared/input.ts';
import { ROLES, type ApiToken, type Role } from '../../shared/model.ts';
import type { Clock, TokenStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { INVENTORY } from './announcements.ts';

const DAY_MS = 86_400_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
/** EventBridge's own sources (aws.*) and certops' (certops.*) are never an outside system's. */
const EVENT_SOURCE = /^(?!aws\.|certops\.)[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/i;

/** How long tokens live: `defaultDays` when a request names no expiry, never more than `maxDays`. */
export interface TokenLifetime {
  defaultDays: number;
  maxDays: number;
}

export interface TokenDeps extends AnnounceDeps {
  tokens: TokenStore;
  clock: Clock;
  tokenLifetime: TokenLifetime;
}

export interface TokenRequest {
  name: string;
  role: Role;
  expiresAt: Date;
  eventSources: string[];
}

/** `POST /tokens`: `{ name, role?, expiresAt?, eventSources? }`, each field checked and named in errors. */
export function parseTokenRequest(body: unknown, now: Date, lifetime: TokenLifetime): TokenRequest {
  const obj = asObject(body);
  const name = requiredString(obj, 'name', 128);
  if (!NAME.test(name)) throw new ValidationError('name may hold letters, digits, dot, dash, underscore and @, starting with a letter or digit', 'name');
  const latest = now.getTime() + lifetime.maxDays * DAY_MS;
  const given = optionalString(obj, 'expiresAt', 40);
  const expiresAt = given === undefined ? now.getTime() + lifetime.defaultDays * DAY_MS : Date.parse(given);
  if (Number.isNaN(expiresAt) || expiresAt <= now.getTime() || expiresAt > latest) {
    throw new ValidationError(`expiresAt must be an ISO 8601 time after now and at most ${lifetime.maxDays} days ahead`, 'expiresAt');
  }
  const eventSources = [...new Set(stringList(obj, 'eventSources', 20))];
  for (const source of eventSources) {
    if (!EVENT_SOURCE.test(source)) throw new ValidationError(`eventSources: ${JSON.stringify(source.slice(0, 60))} is not a source an outside system may use (letters, digits, dot, dash, underscore; not aws.* or certops.*)`, 'eventSources');
  }
  return { name, role: oneOf(obj, 'role', ROLES, 'viewer'), expiresAt: new Date(expiresAt), eventSources };
}

const tokenFields = (t: ApiToken) => ({ tokenId: t.tokenId, name: t.name, role: t.role, expiresAt: t.expiresAt, eventSources: t.eventSources });

/**
 * Mints an admin token of the default lifetime, named `admin`, or `admin-<time>` when a live token
 * holds that name (the first admin token may live on while its secret is lost).
 */
export async function mintAdminToken(createdBy: string, deps: TokenDeps): Promise<{ token: string; record: ApiToken }> {
  const now = deps.clock.now();
  const request = { role: 'admin' as const, expiresAt: new Date(now.getTime() + deps.tokenLifetime.defaultDays * DAY_MS), eventSources: [] };
  try {
    return await createToken({ ...request, name: 'admin' }, createdBy, deps);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    return createToken({ ...request, name: `admin-${now.toISOString().replace(/\D/g, '').slice(0, 14)}` }, createdBy, deps);
  }
}

/**
 * Mints a token for a new principal and says so on the bus (token.created). The secret is in
 * the answer only: shown this once, stored as a hash. A name or event source that a live token
 * holds is a 409.
 */
export async function createToken(request: TokenRequest, createdBy: string, deps: TokenDeps): Promise<{ token: string; record: ApiToken }> {
  const minted = mintToken();
  const now = deps.clock.now();
  const record: ApiToken = { tokenId: minted.tokenId, name: request.name, role: request.role, createdAt: now.toISOString(), createdBy, expiresAt: request.expiresAt.toISOString(), eventSources: request.eventSources };
  const created = newEvent('token.created', { ...tokenFields(record), createdBy }, { now: () => now, newId: () => `token:created:${record.tokenId}` });
  let clash: Awaited<ReturnType<TokenStore['create']>>['clash'];
  await announceAfter(INVENTORY, [created], async () => {
    ({ clash } = await deps.tokens.create(record, minted.secretHash, now));
    return !clash;
  }, deps);
  if (clash) throw new ConflictError(`${clash.field}: ${clash.value} belongs to the live token ${clash.tokenId}; revoke it first`, clash.field);
  return { token: minted.token, record };
}

/** Revokes a token at once (token.revoked); revoking it again changes nothing and says so again. */
export async function revokeToken(tokenId: string, revokedBy: string, deps: TokenDeps): Promise<ApiToken> {
  const token = await deps.tokens.get(tokenId);
  if (!token) throw new NotFoundError(`no token ${tokenId}`, 'id');
  const now = deps.clock.now();
  // Revoked already: announced again under its first id and time (consumers keep one).
  const at = token.revokedAt ? new Date(token.revokedAt) : now;
  const announcement = newEvent('token.revoked', { ...tokenFields(token), revokedBy: token.revokedBy ?? revokedBy }, { now: () => at, newId: () => `token:revoked:${tokenId}` });
  let revoked: ApiToken | undefined;
  await announceAfter(INVENTORY, [announcement], async () => (revoked = await deps.tokens.revoke(tokenId, revokedBy, at)) !== undefined, deps);
  return revoked!;
}
