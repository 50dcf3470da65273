import type { AcmeAccount, AcmeAuthorization, AcmeChallenge, AcmeChallengeType, AcmeIdentifier, AcmeOrder, AcmeServerStore, ChallengeValidator } from '../../../shared/acme-server.ts';
import { acmeRequester } from '../../../shared/acme-requester.ts';
import { ChallengeFailure } from '../../../shared/acme-server.ts';
import type { AcmeServerProfile } from '../../../shared/acme-server-config.ts';
import { ariCertId } from '../../../shared/ari.ts';
import { IssuerRefusedError, ValidationError } from '../../../shared/errors.ts';
import { normaliseName } from '../../../shared/names.ts';
import type { TargetStore, TokenStore } from '../../../shared/ports.ts';
import { isLive } from '../../../shared/api-token.ts';
import { createPublicKey } from 'node:crypto';
import { readCsr } from '../../../shared/x509/csr.ts';
import { parseCertificate } from '../../../shared/x509/parse-certificate.ts';
import { certificateBlocks, toPem } from '../../../shared/x509/pem.ts';
import { requestCertificate } from '../request-certificate.ts';
import type { IssuanceDeps, RequestAnswer } from '../issue-request.ts';
import { newAcmeId, newToken } from './ids.ts';
import { thumbprintOf } from './jws.ts';
import { AcmeProblem } from './problems.ts';
import type { AcmeUrls } from './urls.ts';

export interface OrderDeps extends IssuanceDeps {
  acmeStore: AcmeServerStore;
  tokens: Pick<TokenStore, 'get'>;
  validator: ChallengeValidator;
  targets: Pick<TargetStore, 'get'>;
  defaultIssuer: string;
  /** The profile an order was made under, as the configuration says now. */
  profileOf(order: AcmeOrder): AcmeServerProfile;
}

/** How long an order and its authorizations wait for the client (RFC 8555 7.1.3 `expires`). */
const ORDER_LIFETIME_MS = 7 * 86_400_000;
const MAX_IDENTIFIERS = 100;
/** What a client polling a processing order is told to wait, in seconds (RFC 8555 7.4: Retry-After). */
export const PROCESSING_RETRY_AFTER_S = 3;
/** How long one validation holds its authorization (the validator's own deadline is 10 s). */
const VALIDATION_LEASE_MS = 30_000;

/** The requester certops records for what an account orders (RFC 8555 7.1.2: the account is who asks). */
export const requesterOf = (account: Pick<AcmeAccount, 'accountId'>) => acmeRequester(account.accountId);

function owned<T extends { accountId: string }>(item: T | undefined, account: AcmeAccount, what: string, id: string): T {
  // Another account's order looks like none at all: its existence is not told.
  if (!item || item.accountId !== account.accountId) throw new AcmeProblem('malformed', `no ${what} ${id} of this account`, 404);
  return item;
}

function identifiersOf(payload: Record<string, unknown> | undefined): AcmeIdentifier[] {
  const list = payload?.identifiers;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_IDENTIFIERS) throw new AcmeProblem('malformed', `identifiers must list 1 to ${MAX_IDENTIFIERS} identifiers`);
  const values = new Set<string>();
  for (const [i, id] of list.entries()) {
    if (!id || typeof id !== 'object' || typeof id.value !== 'string') throw new AcmeProblem('malformed', `identifiers[${i}] must be { type, value }`);
    if (id.type !== 'dns') throw new AcmeProblem('unsupportedIdentifier', `identifiers[${i}]: type ${JSON.stringify(String(id.type)).slice(0, 40)} is not supported (dns only)`);
    let value: string;
    try {
      value = normaliseName(id.value, `identifiers[${i}]`);
    } catch (err) {
      throw new AcmeProblem('rejectedIdentifier', (err as Error).message);
    }
    if (/^[\d.]+$|:/.test(value)) throw new AcmeProblem('unsupportedIdentifier', `identifiers[${i}]: ${value} is an IP address; ask with type dns for DNS names only`);
    values.add(value);
  }
  return [...values].map((value) => ({ type: 'dns', value }));
}

/** A new order (RFC 8555 7.4): one authorization per identifier, each offering every challenge that can prove it. */
/** An account bound to a certops principal orders only while that principal's token works (RFC 8555 7.3.4: the binding is the account's authority). */
async function bindingLive(account: AcmeAccount, deps: OrderDeps): Promise<void> {
  if (!account.boundTo) return;
  const token = await deps.tokens.get(account.boundTo.tokenId);
  if (!token || !isLive(token, deps.clock.now())) throw new AcmeProblem('unauthorized', `the certops token this account is bound to (${account.boundTo.name}) is revoked or expired`);
}

export async function newOrder(account: AcmeAccount, payload: Record<string, unknown> | undefined, deps: OrderDeps): Promise<AcmeOrder> {
  await bindingLive(account, deps);
  const identifiers = identifiersOf(payload);
  if (payload?.notBefore !== undefined || payload?.notAfter !== undefined) throw new AcmeProblem('malformed', 'notBefore and notAfter are not supported: the profile sets the lifetime');
  let replaces: string | undefined;
  if (payload?.replaces !== undefined) {
    replaces = String(payload.replaces);
    const replaced = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(replaces) ? await deps.acmeStore.orderByAriCertId(replaces) : undefined;
    const order = replaced ? await deps.acmeStore.order(replaced) : undefined;
    // RFC 9773 5: the certificate replaced must be one this account could replace.
    if (!order || order.accountId !== account.accountId) throw new AcmeProblem('malformed', 'replaces names no certificate this account was issued here');
  }
  const now = deps.clock.now();
  const expires = new Date(now.getTime() + ORDER_LIFETIME_MS).toISOString();
  const authorizations: AcmeAuthorization[] = identifiers.map((identifier) => {
    const wildcard = identifier.value.startsWith('*.');
    // A wildcard is proven for its base name, by DNS only (RFC 8555 7.1.3, 8.4).
    const types: AcmeChallengeType[] = wildcard ? ['dns-01'] : ['http-01', 'dns-01', 'tls-alpn-01'];
    return {
      authzId: newAcmeId(), accountId: account.accountId, profile: account.profile, expires, status: 'pending',
      identifier: { type: 'dns', value: wildcard ? identifier.value.slice(2) : identifier.value }, ...(wildcard ? { wildcard } : {}),
      challenges: types.map((type) => ({ type, token: newToken(), status: 'pending' as const })),
    };
  });
  const order: AcmeOrder = {
    orderId: newAcmeId(), accountId: account.accountId, profile: account.profile, status: 'pending', identifiers,
    authorizations: authorizations.map((a) => a.authzId), expires, createdAt: now.toISOString(), ...(replaces ? { replaces } : {}),
  };
  await deps.acmeStore.createOrder(order, authorizations);
  return order;
}

/** What a stored order is now: a pending one is ready once every authorization is valid, invalid once one is not (RFC 8555 7.1.6). */
async function current(order: AcmeOrder, deps: OrderDeps): Promise<AcmeOrder & { ready?: boolean }> {
  if (order.status !== 'pending') return order;
  const now = deps.clock.now().toISOString();
  if (order.expires < now) {
    const error = { type: 'urn:ietf:params:acme:error:malformed', detail: `the order expired at ${order.expires}` };
    await deps.acmeStore.transitionOrder(order.orderId, 'pending', { status: 'invalid', error });
    return { ...order, status: 'invalid', error };
  }
  const authzs = await deps.acmeStore.authorizations(order.authorizations);
  const failed = authzs.find((a) => !a || a.status === 'invalid' || a.status === 'deactivated');
  if (failed) {
    const error = { type: 'urn:ietf:params:acme:error:unauthorized', detail: `authorization for ${failed.identifier.value} is ${failed.status}` };
    await deps.acmeStore.transitionOrder(order.orderId, 'pending', { status: 'invalid', error });
    return { ...order, status: 'invalid', error };
  }
  return { ...order, ready: authzs.every((a) => a!.status === 'valid') };
}

/** The order as RFC 8555 7.1.3 shows it, and how long a client should wait before asking again. */
export async function orderView(order: AcmeOrder, urls: AcmeUrls, deps: OrderDeps) {
  const now = order.status === 'processing' ? await settle(order, deps) : await current(order, deps);
  const status = now.status === 'pending' && (now as { ready?: boolean }).ready ? 'ready' : now.status;
  return {
    body: {
      status, expires: now.expires, identifiers: now.identifiers, authorizations: now.authorizations.map(urls.authz), finalize: urls.finalize(now.orderId),
      ...(now.certificateId ? { certificate: urls.certificate(now.orderId) } : {}), ...(now.error ? { error: now.error } : {}), ...(now.replaces ? { replaces: now.replaces } : {}),
    },
    retryAfter: status === 'processing' ? PROCESSING_RETRY_AFTER_S : undefined,
  };
}

export async function ownedOrder(account: AcmeAccount, orderId: string, deps: OrderDeps): Promise<AcmeOrder> {
  return owned(/^[0-9a-f]{32}$/.test(orderId) ? await deps.acmeStore.order(orderId) : undefined, account, 'order', orderId);
}

export async function ownedAuthorization(account: AcmeAccount, authzId: string, deps: OrderDeps): Promise<AcmeAuthorization> {
  return owned(/^[0-9a-f]{32}$/.test(authzId) ? await deps.acmeStore.authorization(authzId) : undefined, account, 'authorization', authzId);
}

/** A client gives up an authorization (RFC 8555 7.5.2): a pending or valid one is deactivated, and proves nothing any more. */
export async function deactivateAuthorization(account: AcmeAccount, authzId: string, payload: Record<string, unknown>, deps: OrderDeps): Promise<AcmeAuthorization> {
  if (payload.status !== 'deactivated' || Object.keys(payload).length !== 1) throw new AcmeProblem('malformed', 'an authorization may only be changed to { "status": "deactivated" }');
  const authz = await ownedAuthorization(account, authzId, deps);
  if (authz.status === 'pending' || authz.status === 'valid') await deps.acmeStore.transitionAuthorization(authzId, authz.status, { status: 'deactivated' });
  return (await deps.acmeStore.authorization(authzId))!;
}

const challengeView = (authz: AcmeAuthorization, c: AcmeChallenge, urls: AcmeUrls) => ({
  type: c.type, url: urls.challenge(authz.authzId, c.type), token: c.token, status: c.status, ...(c.validated ? { validated: c.validated } : {}), ...(c.error ? { error: c.error } : {}),
});

/** An authorization as RFC 8555 7.1.4 shows it; one past its expiry is shown expired. */
export function authorizationView(authz: AcmeAuthorization, urls: AcmeUrls, now: Date) {
  const status = authz.status === 'pending' && authz.expires < now.toISOString() ? 'expired' : authz.status;
  return { status, identifier: authz.identifier, expires: authz.expires, ...(authz.wildcard ? { wildcard: true } : {}), challenges: authz.challenges.map((c) => challengeView(authz, c, urls)) };
}

/** The key authorization (RFC 8555 8.1): token "." base64url(SHA-256 thumbprint of the account key). */
export async function keyAuthorization(token: string, account: AcmeAccount): Promise<string> {
  return `${token}.${await thumbprintOf(account.jwk)}`;
}

/**
 * The client says a challenge is ready (RFC 8555 7.5.1): certops checks it where the name points,
 * at once, and the authorization becomes valid or invalid. Asked again, it answers as it stands.
 */
export async function respondToChallenge(account: AcmeAccount, authzId: string, type: string, urls: AcmeUrls, deps: OrderDeps) {
  const authz = await ownedAuthorization(account, authzId, deps);
  const challenge = authz.challenges.find((c) => c.type === type);
  if (!challenge) throw new AcmeProblem('malformed', `authorization ${authzId} offers no ${type.slice(0, 20)} challenge`, 404);
  const now = deps.clock.now();
  if (authz.status !== 'pending' || authz.expires < now.toISOString()) return { authz, challenge: challengeView(authz, challenge, urls) };
  // One validation of an authorization at a time: asked again meanwhile, the client is told it is under way.
  if (!(await deps.acmeStore.claimValidation(authzId, new Date(now.getTime() + VALIDATION_LEASE_MS), now))) return { authz, challenge: { ...challengeView(authz, challenge, urls), status: 'processing' } };
  let outcome: Pick<AcmeChallenge, 'validated' | 'error'> & { status: 'valid' | 'invalid' };
  try {
    await deps.validator.validate(challenge.type, authz.identifier.value, challenge.token, await keyAuthorization(challenge.token, account));
    outcome = { status: 'valid', validated: deps.clock.now().toISOString() };
  } catch (err) {
    if (!(err instanceof ChallengeFailure)) throw err;
    outcome = { status: 'invalid', error: { type: `urn:ietf:params:acme:error:${err.problemType}`, detail: err.message, status: 400 } };
  }
  const challenges = authz.challenges.map((c) => (c.type === type ? { ...c, ...outcome } : c));
  // One challenge decides: a concurrent answer that decided first stands.
  await deps.acmeStore.transitionAuthorization(authzId, 'pending', { status: outcome.status, challenges });
  const decided = (await deps.acmeStore.authorization(authzId))!;
  return { authz: decided, challenge: challengeView(decided, decided.challenges.find((c) => c.type === type)!, urls) };
}

function requestInput(order: AcmeOrder, commonName: string, profile: AcmeServerProfile, defaultIssuer: string) {
  return {
    commonName, subjectAlternativeNames: order.identifiers.map((i) => i.value), csr: order.csrPem, keyAlgorithm: 'EC_P256' as const, returnPrivateKey: false,
    validityDays: profile.validityDays, profile: 'tls-server' as const, environment: profile.environment, owner: profile.owner, issuer: profile.issuer ?? defaultIssuer, targets: [],
  };
}

/**
 * Finalization (RFC 8555 7.4): the CSR must name exactly the order's identifiers; the order then
 * becomes certops' request, judged by policy like any other (issued at once, waiting for an
 * approver, or refused).
 */
export async function finalizeOrder(account: AcmeAccount, orderId: string, payload: Record<string, unknown> | undefined, deps: OrderDeps): Promise<AcmeOrder> {
  const order = await current(await ownedOrder(account, orderId, deps), deps);
  if (order.status !== 'pending' || !order.ready) throw new AcmeProblem('orderNotReady', `order ${orderId} is ${order.status === 'pending' ? 'waiting for its authorizations' : order.status}: it cannot be finalized`);
  if (typeof payload?.csr !== 'string' || !/^[A-Za-z0-9_-]+$/.test(payload.csr)) throw new AcmeProblem('malformed', 'csr must be the base64url DER of a PKCS#10 request');
  const csrPem = toPem(Buffer.from(payload.csr, 'base64url'), 'CERTIFICATE REQUEST');
  await bindingLive(account, deps);
  const csr = await readCsr(csrPem).catch((err: Error) => {
    throw new AcmeProblem('badCSR', err.message);
  });
  // RFC 8555 11.1: the certificate's key is never the account's.
  if (Buffer.from(createPublicKey({ key: account.jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' })).equals(csr.spkiDer)) throw new AcmeProblem('badCSR', 'the CSR\'s key is the account key: certify another key');
  const asked = new Set(order.identifiers.map((i) => i.value));
  const canonical = (n: string) => {
    try {
      return normaliseName(n, 'csr');
    } catch (err) {
      throw new AcmeProblem('badCSR', (err as Error).message);
    }
  };
  const named = new Set(csr.names.map(canonical));
  if (csr.commonName) named.add(canonical(csr.commonName));
  if (named.size !== asked.size || [...named].some((n) => !asked.has(n))) throw new AcmeProblem('badCSR', `the CSR names ${[...named].join(', ') || 'nothing'}, not exactly the order's identifiers (${[...asked].join(', ')})`);
  if (!(await deps.acmeStore.transitionOrder(orderId, 'pending', { status: 'processing', csrPem }))) throw new AcmeProblem('orderNotReady', `order ${orderId} is being finalized already`);
  return settle({ ...order, status: 'processing', csrPem }, deps);
}

/**
 * A processing order, taken as far as it can go: its request asked for (again: idempotently, by
 * the order's id, so a poll after a crash finishes it) and the order moved on to the outcome.
 */
async function settle(order: AcmeOrder, deps: OrderDeps): Promise<AcmeOrder> {
  const csr = await readCsr(order.csrPem!);
  const asked = order.identifiers.map((i) => i.value);
  const cn = csr.commonName?.toLowerCase();
  const commonName = cn && asked.includes(cn) ? cn : asked.find((n) => !n.startsWith('*.')) ?? asked[0];
  let answer: RequestAnswer;
  try {
    const profile = deps.profileOf(order);
    const account = await deps.acmeStore.account(order.accountId);
    const bound = account?.boundTo;
    answer = await requestCertificate(requestInput(order, commonName, profile, deps.defaultIssuer), { name: requesterOf(order), role: 'requester', ...(bound ? { onBehalfOf: bound.name } : { mayWaitForApproval: false }) }, `acme-order:${order.orderId}`, deps);
  } catch (err) {
    // A request certops can never make (its profile or issuer gone from the configuration, say), or
    // one its CA refused for good (the request is rejected), ends the order; anything else is asked again at the next poll.
    if (!(err instanceof ValidationError || err instanceof IssuerRefusedError)) throw err;
    answer = { requestId: '', status: 'rejected', reasons: [err.message] };
  }
  if (answer.status === 'issued' && answer.certificateId) {
    const cert = await deps.certificates.get(answer.certificateId);
    const [leaf] = certificateBlocks(cert!.certificatePem, 'certificate');
    const parsed = parseCertificate(leaf);
    if (parsed.extensions.authorityKeyId) await deps.acmeStore.putRenewalPointer(ariCertId(parsed), order.orderId);
    await deps.acmeStore.transitionOrder(order.orderId, 'processing', { status: 'valid', requestId: answer.requestId, certificateId: answer.certificateId });
    return { ...order, status: 'valid', requestId: answer.requestId, certificateId: answer.certificateId };
  }
  if (answer.status === 'rejected') {
    const error = { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: `certops refused the request: ${answer.reasons.join('; ') || 'rejected'}` };
    await deps.acmeStore.transitionOrder(order.orderId, 'processing', { status: 'invalid', requestId: answer.requestId || undefined, error });
    return { ...order, status: 'invalid', error };
  }
  if (!order.requestId) await deps.acmeStore.transitionOrder(order.orderId, 'processing', { requestId: answer.requestId });
  return { ...order, requestId: answer.requestId };
}

/** The certificate of a valid order with its chain (RFC 8555 7.4.2), PEM. */
export async function certificateChain(account: AcmeAccount, orderId: string, deps: OrderDeps): Promise<string> {
  const order = await ownedOrder(account, orderId, deps);
  const cert = order.certificateId ? await deps.certificates.get(order.certificateId) : undefined;
  if (!cert) throw new AcmeProblem('malformed', `order ${orderId} has no certificate`, 404);
  return `${cert.certificatePem.trim()}\n${cert.chainPem.trim()}\n`;
}
