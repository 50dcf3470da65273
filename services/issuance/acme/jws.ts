import { calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from 'jose';
import type { AcmeAccount, AcmeServerStore } from '../../../shared/acme-server.ts';
import type { Clock } from '../../../shared/ports.ts';
import { AcmeProblem } from './problems.ts';

/** Signature algorithms an account key may sign with (RFC 8555 6.2: at least ES256 and EdDSA; never none or a MAC). */
export const ACCOUNT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MIN_RSA_BITS = 2048;

/** A POST as RFC 8555 6.2-6.5 checks it: who signed it and what it says. */
export interface SignedRequest {
  /** The payload, parsed; undefined for a POST-as-GET (empty payload, RFC 8555 6.3). */
  payload: Record<string, unknown> | undefined;
  protectedHeader: Record<string, unknown>;
  /** The signing account (a `kid` request). */
  account?: AcmeAccount;
  /** The embedded key (a `jwk` request) and its RFC 7638 thumbprint. */
  jwk?: Record<string, string>;
  thumbprint?: string;
}

export interface JwsDeps {
  acmeStore: Pick<AcmeServerStore, 'consumeNonce' | 'account'>;
  clock: Clock;
  /** A key change's inner JWS (RFC 8555 7.3.5): no nonce, the outer one's is spent. */
  innerJws?: boolean;
}

const jsonObject = (text: string, what: string): Record<string, unknown> => {
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // Reported below.
  }
  throw new AcmeProblem('malformed', `the JWS ${what} is not a base64url-encoded JSON object`);
};

/** A public JWK with only the members that define the key (RFC 7638 3.2), checked to be one certops takes. */
export function publicJwk(value: unknown): Record<string, string> {
  const jwk = (value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  if (jwk.d !== undefined || jwk.p !== undefined || jwk.k !== undefined) throw new AcmeProblem('malformed', 'the JWK holds private or symmetric key material: send only the public key');
  const members = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : jwk.kty === 'EC' ? ['kty', 'crv', 'x', 'y'] : jwk.kty === 'OKP' ? ['kty', 'crv', 'x'] : undefined;
  if (!members || members.some((m) => typeof jwk[m] !== 'string')) throw new AcmeProblem('badPublicKey', 'the JWK is not an RSA, EC or OKP public key');
  if (jwk.kty === 'RSA' && Buffer.from(String(jwk.n), 'base64url').length * 8 < MIN_RSA_BITS) throw new AcmeProblem('malformed', `RSA account keys must have at least ${MIN_RSA_BITS} bits`);
  return Object.fromEntries(members.map((m) => [m, String(jwk[m])]));
}

export const thumbprintOf = (jwk: Record<string, string>) => calculateJwkThumbprint(jwk as JWK, 'sha256');

/**
 * Checks a flattened JWS (RFC 7515 7.2.2) the way RFC 8555 6.2-6.5 asks: protected header only,
 * an allowed algorithm, exactly one of jwk/kid (`key` says which this resource takes), a valid
 * signature, `url` equal to the URL requested, and an unused nonce (consumed here). `accountUrl`
 * turns a kid back into an account id (undefined when it names no account of this directory).
 * Throws AcmeProblem: badSignatureAlgorithm, badNonce, unauthorized, accountDoesNotExist, malformed.
 */
export async function verifySignedRequest(body: unknown, url: string, key: 'jwk' | 'kid' | 'either', accountIdOf: (kid: string) => string | undefined, deps: JwsDeps): Promise<SignedRequest> {
  const jws = (body && typeof body === 'object' && !Array.isArray(body) ? body : undefined) as Record<string, unknown> | undefined;
  if (!jws || Object.keys(jws).some((k) => !['protected', 'payload', 'signature'].includes(k)) || ['protected', 'payload', 'signature'].some((k) => typeof jws[k] !== 'string')) {
    throw new AcmeProblem('malformed', 'the body must be a flattened JWS (RFC 7515 7.2.2) of protected, payload and signature, with no unprotected header');
  }
  const header = jsonObject(Buffer.from(String(jws.protected), 'base64url').toString('utf8'), 'protected header');
  const alg = String(header.alg);
  if (!ACCOUNT_ALGORITHMS.includes(alg)) throw new AcmeProblem('badSignatureAlgorithm', `alg ${alg} is not accepted`, 400, { algorithms: ACCOUNT_ALGORITHMS });
  if ((header.jwk === undefined) === (header.kid === undefined)) throw new AcmeProblem('malformed', 'the protected header must hold exactly one of jwk and kid');
  if (key === 'jwk' && header.jwk === undefined) throw new AcmeProblem('malformed', 'this resource takes a request signed with its jwk, not a kid');
  if (key === 'kid' && header.kid === undefined) throw new AcmeProblem('malformed', 'this resource takes a request signed by an account (kid), not a jwk');
  let account: AcmeAccount | undefined;
  let jwk: Record<string, string>;
  if (header.kid !== undefined) {
    const accountId = typeof header.kid === 'string' ? accountIdOf(header.kid) : undefined;
    account = accountId ? await deps.acmeStore.account(accountId) : undefined;
    if (!account) throw new AcmeProblem('accountDoesNotExist', `no account ${String(header.kid).slice(0, 200)} at this directory`);
    if (account.status !== 'valid') throw new AcmeProblem('unauthorized', `account ${account.accountId} is ${account.status}`);
    jwk = account.jwk;
  } else {
    jwk = publicJwk(header.jwk);
  }
  let verified: Awaited<ReturnType<typeof flattenedVerify>>;
  try {
    verified = await flattenedVerify(jws as { protected: string; payload: string; signature: string }, await importJWK(jwk as JWK, alg), { algorithms: [alg] });
  } catch {
    throw new AcmeProblem('malformed', 'the JWS signature does not verify with the request\'s key and algorithm');
  }
  if (deps.innerJws) {
    if (header.nonce !== undefined) throw new AcmeProblem('malformed', 'an inner JWS carries no nonce (RFC 8555 7.3.5)');
  } else if (typeof header.nonce !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(header.nonce) || !(await deps.acmeStore.consumeNonce(header.nonce, deps.clock.now()))) {
    throw new AcmeProblem('badNonce', 'the nonce is unknown, used or expired: retry with the Replay-Nonce of this answer');
  }
  if (header.url !== url) throw new AcmeProblem('unauthorized', `the JWS url ${JSON.stringify(String(header.url).slice(0, 200))} is not the URL requested (${url})`);
  const text = Buffer.from(verified.payload).toString('utf8');
  const payload = text === '' ? undefined : jsonObject(text, 'payload');
  return { payload, protectedHeader: header, ...(account ? { account } : { jwk, thumbprint: await thumbprintOf(jwk) }) };
}
