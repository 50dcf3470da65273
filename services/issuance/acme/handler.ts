import { apiHandler, type ApiRequest, type Route, type RouteDoc } from '../../../adapters/http/api-handler.ts';
import { logger } from '../../../adapters/logger.ts';
import type { AcmeServerProfile } from '../../../shared/acme-server-config.ts';
import { object, string } from '../../../shared/api-schemas.ts';
import { accountView, changeAccountKey, mintExternalAccountKey, newAccount, updateAccount } from './accounts.ts';
import { newToken } from './ids.ts';
import { verifySignedRequest, type SignedRequest } from './jws.ts';
import { authorizationView, certificateChain, deactivateAuthorization, finalizeOrder, newOrder, orderView, ownedAuthorization, ownedOrder, respondToChallenge } from './orders.ts';
import { AcmeProblem, problemOf } from './problems.ts';
import { RENEWAL_INFO_RETRY_AFTER_S, renewalInfoOf } from './renewal-info.ts';
import { revokeCertificate } from './revoke.ts';
import { acmeServerRuntime } from './runtime.ts';
import { acmeUrls, type AcmeUrls } from './urls.ts';

const rt = acmeServerRuntime;

/** How long a nonce this server hands out stays good (RFC 8555 6.5 leaves it to the server). */
const NONCE_LIFETIME_MS = 3_600_000;

interface AcmeAnswer {
  status: number;
  /** A JSON object (an ACME resource), or text with `contentType`. */
  body?: unknown;
  contentType?: string;
  location?: string;
  links?: string[];
  retryAfter?: number;
}

interface AcmeCall {
  req: ApiRequest;
  profileName: string;
  profile: AcmeServerProfile;
  urls: AcmeUrls;
  /** The request's JWS, checked (RFC 8555 6.2-6.5) for the URL it was sent to; `key` says how it must be signed. */
  signed(url: string, key?: 'jwk' | 'kid' | 'either'): Promise<SignedRequest>;
}

const JSON_RESOURCE = { type: 'object', description: 'the ACME resource (RFC 8555 7.1)' };
/** An answer whose headers say it all (a nonce, a revocation done). */
const NO_BODY = { contentType: 'text/plain', description: 'no body' };

/**
 * An ACME resource of a profile's directory: answered in ACME's terms (problem documents,
 * Replay-Nonce on every POST answer and error, the directory as Link rel="index"). Public in
 * certops' sense: every POST proves its account (or key) with its JWS instead of a token.
 */
function acme(doc: Pick<RouteDoc, 'summary' | 'description'> & { responses?: RouteDoc['responses'] }, run: (call: AcmeCall) => Promise<AcmeAnswer>, options: { post?: boolean; nonce?: boolean } = {}): Route {
  const post = options.post ?? true;
  return {
    role: 'public',
    doc: { ...doc, responses: doc.responses ?? { 200: JSON_RESOURCE } },
    async run(req) {
      const profileName = req.params.profile;
      const { profiles } = rt().suite.acmeServer;
      const profile = Object.hasOwn(profiles, profileName) ? profiles[profileName] : undefined;
      const urls = acmeUrls(rt().config.baseUrl, profileName);
      let answer: AcmeAnswer;
      try {
        if (!profile) throw new AcmeProblem('malformed', `no ACME directory ${profileName.slice(0, 64)} here`, 404);
        // RFC 8555 6.2: a POST that is not a JWS is refused with 415.
        if (post && !/^application\/jose\+json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) throw new AcmeProblem('malformed', 'the Content-Type must be application/jose+json', 415);
        const signed = async (url: string, key: 'jwk' | 'kid' | 'either' = 'kid') => {
          const request = await verifySignedRequest(req.body, url, key, urls.accountIdOf, rt());
          // Each directory's accounts are its own: a kid naming another directory's account is none here.
          if (request.account && request.account.profile !== profileName) throw new AcmeProblem('accountDoesNotExist', `no account ${request.account.accountId} at this directory`);
          return request;
        };
        answer = await run({ req, profileName, profile, urls, signed });
      } catch (err) {
        const problem = problemOf(err);
        if (problem.status >= 500) logger.error('ACME request failed', { route: `${profileName}`, error: (err as Error)?.message, stack: (err as Error)?.stack });
        answer = { status: problem.status, body: problem.document(), contentType: 'application/problem+json', location: problem.extra.location };
      }
      const headers: Record<string, string> = { 'cache-control': 'no-store' };
      // A directory that is not configured has no index to name (and its name, from the path, is the caller's, any characters).
      if (profile) headers.link = [`<${urls.directory}>;rel="index"`, ...(answer.links ?? [])].join(', ');
      if (profile && (post || options.nonce)) {
        const nonce = newToken();
        await rt().acmeStore.putNonce(nonce, new Date(rt().clock.now().getTime() + NONCE_LIFETIME_MS));
        headers['replay-nonce'] = nonce;
      }
      if (answer.location) headers.location = answer.location;
      if (answer.retryAfter !== undefined) headers['retry-after'] = String(answer.retryAfter);
      const contentType = answer.body === undefined ? 'text/plain' : answer.contentType ?? 'application/json';
      const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      return { status: answer.status, contentType, body, headers };
    },
  };
}

const ORDER_RESPONSES = { 200: JSON_RESOURCE, 201: JSON_RESOURCE };

export const api = apiHandler({
  'GET /acme/{profile}/directory': acme({ summary: 'An ACME directory (RFC 8555 7.1.1): the URLs of its resources and whether accounts need External Account Binding' }, async ({ profile, urls }) => ({
    status: 200,
    body: {
      newNonce: urls.newNonce, newAccount: urls.newAccount, newOrder: urls.newOrder, revokeCert: urls.revokeCert, keyChange: urls.keyChange, renewalInfo: urls.renewalInfo,
      meta: { externalAccountRequired: profile.externalAccountRequired, website: urls.root },
    },
  }), { post: false }),
  'HEAD /acme/{profile}/new-nonce': acme({ summary: 'A fresh nonce in Replay-Nonce (RFC 8555 7.2)', responses: { 200: NO_BODY } }, async () => ({ status: 200 }), { post: false, nonce: true }),
  'GET /acme/{profile}/new-nonce': acme({ summary: 'A fresh nonce in Replay-Nonce (RFC 8555 7.2)', responses: { 204: NO_BODY } }, async () => ({ status: 204 }), { post: false, nonce: true }),
  'POST /acme/{profile}/new-account': acme({ summary: 'Finds or creates the account of the request\'s key (RFC 8555 7.3), with External Account Binding where the directory requires it', responses: ORDER_RESPONSES }, async ({ profileName, profile, urls, signed }) => {
    const req = await signed(urls.newAccount, 'jwk');
    const { created, account } = await newAccount(req, profileName, profile, urls, rt());
    return { status: created ? 201 : 200, body: accountView(account, urls), location: urls.account(account.accountId) };
  }),
  'POST /acme/{profile}/account/{id}': acme({ summary: 'An account: read (POST-as-GET), change its contacts, or deactivate it (RFC 8555 7.3.2, 7.3.6)' }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.account(req.params.id));
    return { status: 200, body: accountView(await updateAccount(signedReq.account!, req.params.id, signedReq.payload, rt()), urls) };
  }),
  'POST /acme/{profile}/account/{id}/orders': acme({ summary: 'An account\'s orders, newest first (POST-as-GET, RFC 8555 7.1.2.1), 100 a page with Link rel="next"' }, async ({ req, urls, signed }) => {
    const cursor = req.query.cursor || undefined;
    const signedReq = await signed(urls.accountOrders(req.params.id, cursor));
    if (signedReq.account!.accountId !== req.params.id) throw new AcmeProblem('unauthorized', 'an account may only list its own orders');
    const page = await rt().acmeStore.accountOrders(req.params.id, 100, cursor);
    return { status: 200, body: { orders: page.orderIds.map(urls.order) }, links: page.nextToken ? [`<${urls.accountOrders(req.params.id, page.nextToken)}>;rel="next"`] : [] };
  }),
  'POST /acme/{profile}/key-change': acme({ summary: 'Moves an account to a new key (RFC 8555 7.3.5)' }, async ({ urls, signed }) => {
    const account = await changeAccountKey(await signed(urls.keyChange), urls, rt());
    return { status: 200, body: accountView(account, urls), location: urls.account(account.accountId) };
  }),
  'POST /acme/{profile}/new-order': acme({ summary: 'Orders a certificate for DNS names (RFC 8555 7.4): one authorization per name', responses: { 201: JSON_RESOURCE } }, async ({ urls, signed }) => {
    const req = await signed(urls.newOrder);
    const order = await newOrder(req.account!, req.payload, rt());
    return { status: 201, body: (await orderView(order, urls, rt())).body, location: urls.order(order.orderId) };
  }),
  'POST /acme/{profile}/order/{id}': acme({ summary: 'An order (POST-as-GET, RFC 8555 7.1.3): processing while certops\' policy waits for an approver, with Retry-After' }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.order(req.params.id));
    const view = await orderView(await ownedOrder(signedReq.account!, req.params.id, rt()), urls, rt());
    return { status: 200, ...view };
  }),
  'POST /acme/{profile}/order/{id}/finalize': acme({ summary: 'Finalizes a ready order with a CSR (RFC 8555 7.4): certops\' policy issues it, keeps it for an approver, or refuses it' }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.finalize(req.params.id));
    const order = await finalizeOrder(signedReq.account!, req.params.id, signedReq.payload, rt());
    return { status: 200, ...(await orderView(order, urls, rt())), location: urls.order(order.orderId) };
  }),
  'POST /acme/{profile}/authz/{id}': acme({ summary: 'An authorization and its challenges (POST-as-GET, RFC 8555 7.5), or its deactivation (7.5.2)' }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.authz(req.params.id));
    const authz = signedReq.payload === undefined ? await ownedAuthorization(signedReq.account!, req.params.id, rt()) : await deactivateAuthorization(signedReq.account!, req.params.id, signedReq.payload, rt());
    return { status: 200, body: authorizationView(authz, urls, rt().clock.now()) };
  }),
  'POST /acme/{profile}/challenge/{id}/{type}': acme({ summary: 'Answers a challenge (RFC 8555 7.5.1): certops validates it at once (http-01, dns-01, tls-alpn-01)' }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.challenge(req.params.id, req.params.type));
    if (signedReq.payload === undefined) return { status: 200, body: authorizationView(await ownedAuthorization(signedReq.account!, req.params.id, rt()), urls, rt().clock.now()).challenges.find((c) => c.type === req.params.type) ?? {} };
    const { challenge } = await respondToChallenge(signedReq.account!, req.params.id, req.params.type, urls, rt());
    return { status: 200, body: challenge, links: [`<${urls.authz(req.params.id)}>;rel="up"`] };
  }),
  'POST /acme/{profile}/cert/{id}': acme({ summary: 'A valid order\'s certificate with its chain (POST-as-GET, RFC 8555 7.4.2)', responses: { 200: { contentType: 'application/pem-certificate-chain', description: 'the certificate and its chain, PEM' } } }, async ({ req, urls, signed }) => {
    const signedReq = await signed(urls.certificate(req.params.id));
    return { status: 200, contentType: 'application/pem-certificate-chain', body: await certificateChain(signedReq.account!, req.params.id, rt()) };
  }),
  'POST /acme/{profile}/revoke-cert': acme({ summary: 'Revokes a certificate (RFC 8555 7.6), signed by the account that ordered it or by the certificate\'s key', responses: { 200: NO_BODY } }, async ({ urls, signed }) => {
    await revokeCertificate(await signed(urls.revokeCert, 'either'), rt());
    return { status: 200 };
  }),
  'GET /acme/{profile}/renewal-info/{id}': acme({ summary: 'When to renew a certificate this server issued (ACME Renewal Information, RFC 9773 4.2)' }, async ({ req }) => ({
    status: 200, body: await renewalInfoOf(req.params.id, rt()), retryAfter: RENEWAL_INFO_RETRY_AFTER_S,
  }), { post: false }),
  'POST /acme-eab': {
    doc: {
      summary: 'Mints an External Account Binding key (RFC 8555 7.3.4) for the caller: an ACME account bound with it orders on the caller\'s behalf (four eyes: the caller may not approve its requests)',
      responses: { 201: object(['keyId', 'hmacKey'], { keyId: string, hmacKey: { ...string, description: 'base64url HMAC key, shown once' } }) },
    },
    role: 'requester',
    run: async (req) => ({ status: 201, body: await mintExternalAccountKey(req.caller, rt()) }),
  },
}, rt);
