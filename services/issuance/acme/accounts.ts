import { randomBytes } from 'node:crypto';
import { flattenedVerify } from 'jose';
import type { AcmeAccount, AcmeExternalAccountKey, AcmeServerStore } from '../../../shared/acme-server.ts';
import type { AcmeServerProfile } from '../../../shared/acme-server-config.ts';
import { isLive } from '../../../shared/api-token.ts';
import { eabKeyRef } from '../../../shared/certificate-key-vault.ts';
import type { Clock, KeyVault, TokenStore } from '../../../shared/ports.ts';
import { newAcmeId } from './ids.ts';
import { publicJwk, thumbprintOf, verifySignedRequest, type SignedRequest } from './jws.ts';
import { AcmeProblem } from './problems.ts';
import type { AcmeUrls } from './urls.ts';

export interface AccountDeps {
  acmeStore: AcmeServerStore;
  clock: Clock;
  tokens: Pick<TokenStore, 'get'>;
  /** The vault's External Account Binding keys. */
  eabKeys(): Promise<KeyVault>;
}

const EAB_ALGORITHMS = ['HS256', 'HS384', 'HS512'];

/** An account as RFC 8555 7.1.2 shows it. */
export const accountView = (account: AcmeAccount, urls: AcmeUrls) => ({ status: account.status, contact: account.contact, orders: urls.accountOrders(account.accountId), createdAt: account.createdAt });

function contactsOf(payload: Record<string, unknown> | undefined): string[] {
  const contact = payload?.contact ?? [];
  if (!Array.isArray(contact) || contact.length > 10) throw new AcmeProblem('malformed', 'contact must be a list of at most 10 URLs');
  for (const c of contact) {
    if (typeof c !== 'string' || !c.startsWith('mailto:')) throw new AcmeProblem('unsupportedContact', `contact ${JSON.stringify(String(c)).slice(0, 100)}: only mailto: URLs are supported`);
    if (!/^mailto:[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$/.test(c)) throw new AcmeProblem('invalidContact', `contact ${JSON.stringify(c.slice(0, 100))} must be one plain address (RFC 8555 7.3)`);
  }
  return contact as string[];
}

/**
 * Mints an External Account Binding key (RFC 8555 7.3.4) for a certops principal: its id and
 * base64url HMAC key, shown once. An account bound with it orders on that principal's behalf.
 */
export async function mintExternalAccountKey(principal: { tokenId: string; name: string }, deps: AccountDeps): Promise<{ keyId: string; hmacKey: string }> {
  const keyId = newAcmeId();
  const hmacKey = randomBytes(32).toString('base64url');
  // Sealed in the vault, never in an item: the table holds no usable binding key.
  await (await deps.eabKeys()).put(eabKeyRef(keyId), hmacKey);
  const key: AcmeExternalAccountKey = { keyId, tokenId: principal.tokenId, name: principal.name, createdAt: deps.clock.now().toISOString() };
  await deps.acmeStore.putExternalAccountKey(key);
  return { keyId, hmacKey };
}

/** The binding's key, checked (RFC 8555 7.3.4): it signs this account key, for this URL, with a key certops minted for a principal whose token still works. */
async function externalAccountKey(binding: unknown, jwk: Record<string, string>, url: string, deps: AccountDeps): Promise<AcmeExternalAccountKey> {
  const jws = (binding && typeof binding === 'object' ? binding : {}) as Record<string, unknown>;
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(Buffer.from(String(jws.protected), 'base64url').toString('utf8'));
  } catch {
    // Refused below.
  }
  if (!EAB_ALGORITHMS.includes(String(header.alg)) || typeof header.kid !== 'string' || header.nonce !== undefined || header.url !== url) {
    throw new AcmeProblem('malformed', 'externalAccountBinding must be a JWS with a MAC algorithm, the key id as kid, this URL and no nonce');
  }
  const key = /^[0-9a-f]{32}$/.test(header.kid) ? await deps.acmeStore.externalAccountKey(header.kid) : undefined;
  const token = key ? await deps.tokens.get(key.tokenId) : undefined;
  if (!key || !token || !isLive(token, deps.clock.now())) throw new AcmeProblem('unauthorized', 'the external account key is unknown, or the certops token it was minted for is no longer valid');
  let payload: Uint8Array;
  try {
    payload = (await flattenedVerify(jws as { protected: string; payload: string; signature: string }, Buffer.from(await (await deps.eabKeys()).get(eabKeyRef(key.keyId)), 'base64url'), { algorithms: EAB_ALGORITHMS })).payload;
  } catch {
    throw new AcmeProblem('unauthorized', 'the external account binding\'s MAC does not verify');
  }
  let bound: Record<string, string>;
  try {
    bound = publicJwk(JSON.parse(Buffer.from(payload).toString('utf8')));
  } catch {
    throw new AcmeProblem('malformed', 'the external account binding must sign the account\'s public key');
  }
  if ((await thumbprintOf(bound)) !== (await thumbprintOf(jwk))) throw new AcmeProblem('unauthorized', 'the external account binding signs another key than the account\'s');
  return key;
}

/**
 * newAccount (RFC 8555 7.3): the account of this key (200), or a new one (201). A profile that
 * requires External Account Binding refuses a new account without one.
 */
export async function newAccount(req: SignedRequest, profileName: string, profile: AcmeServerProfile, urls: AcmeUrls, deps: AccountDeps): Promise<{ created: boolean; account: AcmeAccount }> {
  const existing = await deps.acmeStore.accountByThumbprint(req.thumbprint!);
  if (existing) {
    if (existing.profile !== profileName) throw new AcmeProblem('unauthorized', `this key holds an account of the ${existing.profile} directory: use another key here`);
    // RFC 8555 7.3.6: a deactivated account's key is refused with 401.
    if (existing.status !== 'valid') throw new AcmeProblem('unauthorized', `the account of this key is ${existing.status}`, 401);
    return { created: false, account: existing };
  }
  if (req.payload?.onlyReturnExisting === true) throw new AcmeProblem('accountDoesNotExist', 'no account holds this key');
  const contact = contactsOf(req.payload);
  const binding = req.payload?.externalAccountBinding;
  if (profile.externalAccountRequired && binding === undefined) throw new AcmeProblem('externalAccountRequired', 'this directory requires an External Account Binding: mint one with `certops acme eab`');
  const key = binding === undefined ? undefined : await externalAccountKey(binding, req.jwk!, urls.newAccount, deps);
  const accountId = newAcmeId();
  if (key && !(await deps.acmeStore.bindExternalAccountKey(key.keyId, accountId))) throw new AcmeProblem('unauthorized', 'this external account key has bound another account already');
  const account = await deps.acmeStore.createAccount({
    accountId, profile: profileName, jwk: req.jwk!, thumbprint: req.thumbprint!, status: 'valid', contact, createdAt: deps.clock.now().toISOString(),
    ...(key ? { boundTo: { tokenId: key.tokenId, name: key.name } } : {}),
  });
  return { created: account.accountId === accountId, account };
}

/** An account's own URL (RFC 8555 7.3.2, 7.3.6): read it, change its contacts, or deactivate it. */
export async function updateAccount(account: AcmeAccount, accountId: string, payload: Record<string, unknown> | undefined, deps: AccountDeps): Promise<AcmeAccount> {
  if (account.accountId !== accountId) throw new AcmeProblem('unauthorized', 'an account may only read and change itself');
  if (!payload) return account;
  const fields: Partial<Pick<AcmeAccount, 'contact' | 'status'>> = {};
  if (payload.contact !== undefined) fields.contact = contactsOf(payload);
  if (payload.status !== undefined) {
    if (payload.status !== 'deactivated') throw new AcmeProblem('malformed', 'status may only be set to deactivated');
    fields.status = 'deactivated';
  }
  await deps.acmeStore.updateAccount(accountId, fields);
  return { ...account, ...fields };
}

/**
 * keyChange (RFC 8555 7.3.5): the outer JWS is the account's, the inner one is signed by the new
 * key and names the account and its old key. 409 with the other account's URL when the new key
 * is taken.
 */
export async function changeAccountKey(req: SignedRequest, urls: AcmeUrls, deps: AccountDeps): Promise<AcmeAccount> {
  const account = req.account!;
  const inner = await verifySignedRequest(req.payload, urls.keyChange, 'jwk', () => undefined, { acmeStore: deps.acmeStore, clock: deps.clock, innerJws: true });
  if (inner.payload?.account !== urls.account(account.accountId)) throw new AcmeProblem('malformed', 'the inner payload\'s account must be the signing account\'s URL');
  const oldKey = publicJwk(inner.payload.oldKey);
  if ((await thumbprintOf(oldKey)) !== account.thumbprint) throw new AcmeProblem('unauthorized', 'oldKey is not the account\'s current key');
  const holder = await deps.acmeStore.changeKey(account.accountId, account.thumbprint, { jwk: inner.jwk!, thumbprint: inner.thumbprint! });
  if (holder === account.accountId) throw new AcmeProblem('malformed', 'the account\'s key changed while this change was being made: read the account and try again', 409);
  if (holder) throw new AcmeProblem('malformed', 'the new key holds another account already', 409, { location: urls.account(holder) });
  return { ...account, jwk: inner.jwk!, thumbprint: inner.thumbprint! };
}
