import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type * as acme from 'acme-client';
import { CertopsError, IssuerRefusedError, NotFoundError, UpstreamError, ValidationError } from '../../shared/errors.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import type { AcmeChallengeAnswers, CertificateAuthority, Clock, DnsTxtRecords, WebrootAnswers, IssuanceJournal, IssueResult, KeyVault, SignInput } from '../../shared/ports.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../shared/x509/crl-builder.ts';
import { certificateBlocks, toPem } from '../../shared/x509/pem.ts';
import { recordOf } from '../../shared/x509/certificate-record.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { ariCertId, readSuggestedWindow, type SuggestedWindow } from '../../shared/ari.ts';
import { retryAfterMs } from '../../shared/retry-after.ts';
import { onceUnlessFailed } from '../../shared/once-unless-failed.ts';
import type { AcmeIssuerConfig } from '../suite-config.ts';

export interface AcmeDeps {
  clock: Clock;
  /** Orders by idempotency key, and issued certificates by serial (for revocation). */
  journal: IssuanceJournal;
  /** The CA-level vault: the account key lives at `ca/<issuer>/acme-account/<id>` (the journal names which). */
  vault: KeyVault;
  /** http-01 answers served by certops' own server, by token. */
  answers: AcmeChallengeAnswers;
  /** tls-alpn-01 answers served by certops' validation responder, by DNS name (the issuer's `challenge: tls-alpn-01`). */
  tlsAlpnAnswers?: AcmeChallengeAnswers;
  /** dns-01: where the TXT records go (the issuer's `dns` setting). */
  dnsRecords?: DnsTxtRecords;
  /** http-01 into a filesystem target's webroot (the issuer's `webroot` setting) instead of certops' own server. */
  webroot?: WebrootAnswers;
  /** The External Account Binding's HMAC key (base64url), read where the configuration says it is. */
  eabHmacKey?(): Promise<string>;
  /** How long `issue` waits for the CA before answering pending (ms); `complete` picks up from there. */
  waitMs?: number;
  sleep?(ms: number): Promise<void>;
}

/** What the journal keeps of an order under its idempotency key: where it is and the CSR to finalize it with. */
interface OrderState {
  orderUrl: string;
  csrPem: string;
}

/** Renewal information is asked in the sweep: a few seconds at most each, never retried in place. */
const ARI_REQUEST = { timeout: 5_000 };

/** The journal entry naming the vault reference of the account's key. */
const ACCOUNT_KEY = 'acme-account-key';

/** How long a challenge's answer is served: an order's authorizations are validated within minutes. */
const ANSWER_MS = 60 * 60_000;

/**
 * An issuer's caBundle is trusted for its directory's origin only: acme-client sends through one
 * axios instance, so each request gets the agent of its URL's origin, and any other origin the
 * system's roots alone (a directory cannot extend one issuer's roots to another host).
 */
const agents = new Map<string, Agent>();
function trust(directoryUrl: string, caBundlePem: string | undefined): void {
  if (caBundlePem) agents.set(new URL(directoryUrl).origin, new Agent({ ca: [...rootCertificates, caBundlePem], keepAlive: true }));
}
const originOf = (url: unknown) => {
  try {
    return new URL(String(url)).origin;
  } catch {
    return undefined;
  }
};
/**
 * The last Retry-After each URL answered (RFC 8555 7.4: an order or finalization still being
 * processed says when to look again): acme-client hands back bodies only, so it is read here.
 */
const RETRY_AFTERS_KEPT = 256;
const retryAfters = new Map<string, string>();

/** How long `issue` waits for the CA when `waitMs` is not given (ms). */
const DEFAULT_WAIT_MS = 15_000;

/** How long an order's poll waits at least, and at most however long the CA asks (ms). */
const POLL_MS = { first: 250, backoffMax: 2_000, asked: { min: 1_000, max: 10 * 60_000 } };
/** Orders whose next poll time is kept: the oldest is forgotten first (and is then asked about at once). */
const NEXT_POLLS_KEPT = 1024;

/**
 * acme-client, imported on first use and set up once: it and what it imports take some 400 ms to
 * load, which every start of the local stack and every cold start of a function that can reach an
 * ACME issuer paid, whether it ordered or not.
 */
export const acmeLibrary: () => Promise<typeof acme> = onceUnlessFailed(() => import('acme-client').then(({ default: loaded }) => setUp(loaded as unknown as typeof acme)));

/** Sends through the issuers' agents, bounds the waits, and reads what acme-client leaves out (the cause of a failed request, Retry-After, a problem's type). */
function setUp(library: typeof acme): typeof acme {
  library.axios.interceptors.request.use((config) => {
    const agent = agents.get(originOf(config.url) ?? '');
    if (agent) config.httpsAgent = agent;
    return config;
  });
  // A bounded wait for a CA that does not answer. acme-client's own retries of 429 and 5xx sleep as
  // long as Retry-After says, unbounded: none here; a failed call is retried by the request's
  // recovery or the next sweep (badNonce retries, RFC 8555 6.5, are acme-client's and stay).
  library.axios.defaults.timeout = 10_000;
  (library.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
  // A request that got no answer at all (no such host, refused, timed out) reaches acme-client's
  // retry handler without a response, which then fails on it with a TypeError that hides the cause:
  // ahead of that handler, such an error is given its cause and no request config to retry with.
  (library.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers.unshift({
    fulfilled: (res: unknown) => res,
    rejected: (err: { response?: unknown; code?: string; message?: string }) => Promise.reject(err?.response ? err : new Error(`could not reach the CA (${err?.code ?? 'network error'}: ${err?.message})`)),
    synchronous: false,
    runWhen: null,
  });
  library.axios.interceptors.response.use((res) => {
    const url = String(res.config.url ?? '');
    const header = res.headers['retry-after'] as string | undefined;
    retryAfters.delete(url);
    if (header) {
      retryAfters.set(url, header);
      if (retryAfters.size > RETRY_AFTERS_KEPT) retryAfters.delete(retryAfters.keys().next().value!);
    }
    return res;
  });
  // acme-client reports a problem document (RFC 8555 6.7) by its detail alone: its type goes in front.
  library.axios.interceptors.response.use((res) => {
    const problem = res.data as { type?: unknown; detail?: unknown } | undefined;
    if (res.status >= 400 && problem && typeof problem.type === 'string' && typeof problem.detail === 'string' && !problem.detail.startsWith(problem.type)) problem.detail = `${problem.type}: ${problem.detail}`;
    return res;
  });
  return library;
}

/** Whether two lists name the same names, whatever their order and repeats. */
function sameNames(a: string[], b: string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((n) => set.has(n));
}

/** What the CA or the way to it said, as an UpstreamError naming the issuer; certops' own errors as they are. */
function upstream(name: string, err: unknown): Error {
  if (err instanceof CertopsError) return err;
  const message = (err as Error).message;
  return new UpstreamError(`issuer ${name}: ${message.startsWith('could not reach') ? message : `the ACME CA answered: ${message}`}`, 'issuer');
}

/**
 * Certificates from an ACME CA (RFC 8555): an order for the request's names, each authorization
 * proven with http-01 from certops' own server (GET /.well-known/acme-challenge/{token}) or with
 * dns-01 (a TXT record set by RFC 2136 dynamic update), the
 * order finalized with the request's CSR, the certificate downloaded with its chain. An order is
 * journaled under the request's idempotency key before its challenges are answered, so a retry
 * resumes it instead of ordering again. `issue` waits `waitMs` for the CA and otherwise answers
 * pending; `complete` carries the order on from where it stands (the scheduled sweep).
 * badNonce retries are acme-client's (RFC 8555 6.5); a CA that is busy or down is tried again later, not in place.
 * An order still in progress is asked about again no sooner than its Retry-After says (at most 10
 * minutes; a backoff from 250 ms to 2 s without one). With `profile`, orders ask for that profile.
 */
export class AcmeAuthority implements CertificateAuthority {

  constructor(readonly name: string, private readonly config: AcmeIssuerConfig, private readonly deps: AcmeDeps) {
    trust(config.directoryUrl, config.caBundlePem);
  }

  /**
   * The account's key, made once: each process that finds none makes one under a reference of its
   * own, and the journal (first write wins) says whose is the account's, so two cold starts never
   * leave orders with a key that is not the account's.
   */
  private async accountKey(): Promise<{ pem: string; made: boolean }> {
    const chosen = await this.deps.journal.recall(this.name, ACCOUNT_KEY);
    if (chosen) return { pem: await this.deps.vault.get(chosen), made: false };
    const ref = `ca/${this.name}/acme-account/${crypto.randomUUID()}`;
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await this.deps.vault.put(ref, pem);
    const winner = await this.deps.journal.record(this.name, ACCOUNT_KEY, ref);
    if (winner === ref) return { pem, made: true };
    await this.deps.vault.remove(ref);
    return { pem: await this.deps.vault.get(winner), made: false };
  }

  /** The account (RFC 8555 7.3): registered with a new key; found again (onlyReturnExisting) with a kept one. */
  private readonly account = onceUnlessFailed(async (): Promise<acme.Client> => {
    const { pem: accountKey, made } = await this.accountKey();
    const eab = this.config.externalAccountBinding;
    const externalAccountBinding = eab && this.deps.eabHmacKey ? { kid: eab.kid, hmacKey: await this.deps.eabHmacKey() } : undefined;
    const { Client } = await acmeLibrary();
    const client = new Client({ directoryUrl: this.config.directoryUrl, accountKey, ...(externalAccountBinding ? { externalAccountBinding } : {}) });
    const register = () => client.createAccount({ termsOfServiceAgreed: this.config.termsOfServiceAgreed, ...(this.config.contact.length ? { contact: this.config.contact } : {}) });
    if (made) await register();
    else {
      // A kept key's account is looked up, not updated (RFC 8555 7.3.1); a CA that forgot it registers it anew.
      await client.createAccount({ onlyReturnExisting: true }).catch(async (err: Error) => {
        if (!/accountDoesNotExist/.test(err.message)) throw err;
        await register();
      });
    }
    return client;
  });

  issue(input: SignInput): Promise<IssueResult> {
    return this.order(input).catch((err) => Promise.reject(upstream(this.name, err)));
  }

  private async order(input: SignInput): Promise<IssueResult> {
    const key = input.idempotencyKey ?? crypto.randomUUID();
    const known = await this.deps.journal.recall(this.name, key);
    if (known) return this.progress(key, JSON.parse(known) as OrderState, this.deps.waitMs ?? DEFAULT_WAIT_MS);
    const names = [...new Set([input.commonName, ...input.subjectAlternativeNames])];
    // The CA finalizes with the CSR and refuses one whose names are not the order's (RFC 8555 7.4).
    const inCsr = (await readCsr(input.csrPem)).names;
    if (!sameNames(inCsr, names)) throw new ValidationError(`an ACME CA issues for the CSR's names exactly: the CSR names ${inCsr.join(', ') || 'nothing'}, the request ${names.join(', ')}`, 'csr');
    const identifiers = names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
    // RFC 8738 6's reverse-DNS SNI for addresses is not served (the responder answers DNS names),
    // and no CA offers tls-alpn-01 for a wildcard (RFC 8737 3): refused before anything is ordered.
    const unprovable = this.config.challenge === 'tls-alpn-01' ? names.filter((n) => isIP(n) || n.startsWith('*.')) : [];
    if (unprovable.length) throw new IssuerRefusedError(`issuer ${this.name} proves names with tls-alpn-01, which proves neither addresses nor wildcards: ${unprovable.join(', ')} need an issuer with http-01 (addresses) or dns-01 (wildcards)`, 'subjectAlternativeNames');
    const client = await this.account();
    const [replaces, profile] = [await this.replaces(input.replacesCertificatePem), await this.profile()];
    const ask = (withReplaces: boolean) => client.createOrder({ identifiers, ...(withReplaces && replaces ? { replaces } : {}), ...(profile ? { profile } : {}) } as Parameters<acme.Client['createOrder']>[0]);
    const order = await ask(true).catch((err: Error) => {
      // A CA that will not take it (replaced already by an order that went no further, say) gets the order without it.
      if (!replaces || !/alreadyReplaced|replaces/i.test(err.message)) throw err;
      return ask(false);
    });
    // The first attempt's order wins: a racing retry carries that one on and leaves its own to lapse.
    const state = JSON.parse(await this.deps.journal.record(this.name, key, JSON.stringify({ orderUrl: order.url, csrPem: input.csrPem } satisfies OrderState))) as OrderState;
    return this.progress(key, state, this.deps.waitMs ?? DEFAULT_WAIT_MS);
  }

  /**
   * Puts each pending authorization's answer where the CA looks (http-01: certops' own server or a
   * webroot; dns-01: a TXT record at _acme-challenge.<name>, RFC 8555 8.4; tls-alpn-01: certops'
   * validation responder, RFC 8737), then tells the CA it may validate (RFC 8555 7.5.1).
   */
  private async answerChallenges(client: acme.Client, order: acme.Order): Promise<boolean> {
    const type = this.config.challenge;
    let all = true;
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status !== 'pending') {
        // A name this order has proven is free for the next order at once: two orders over the same
        // names, each holding one while waiting for the other's, would otherwise wait out the answers' hour.
        const proven = this.config.challenge === 'tls-alpn-01' ? authz.challenges.find((c) => (c.type as string) === 'tls-alpn-01') : undefined;
        if (proven) await this.removeAnswer(client, authz, proven);
        continue;
      }
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge) throw new IssuerRefusedError(`issuer ${this.name}: the CA offers no ${type} challenge for ${authz.identifier.value} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`, 'issuer');
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      const now = this.deps.clock.now();
      const until = new Date(now.getTime() + ANSWER_MS);
      if (type === 'dns-01') await this.deps.dnsRecords!.put(`_acme-challenge.${authz.identifier.value}`, keyAuthorization);
      else if (type === 'tls-alpn-01') {
        // One certificate answers a name's handshakes: while another order proves it, this one waits its turn.
        if (!(await this.deps.tlsAlpnAnswers!.put(authz.identifier.value.toLowerCase(), keyAuthorization, until, now))) {
          all = false;
          continue;
        }
      } else if (this.deps.webroot) await this.deps.webroot.put(challenge.token, keyAuthorization);
      else await this.deps.answers.put(challenge.token, keyAuthorization, until, now);
      if (challenge.status === 'pending') await client.completeChallenge(challenge);
    }
    return all;
  }

  /**
   * An order that ended takes its dns-01 records, webroot files and tls-alpn-01 answers with it (RFC
   * 8555 8.3, 8.4: the client removes them; the next order for a name may then answer); one left
   * over lapses, so a failure is not the order's.
   */
  private async removeRecords(client: acme.Client, order: acme.Order): Promise<void> {
    // certops' own server's http-01 answers are by token, one order's each: they lapse on their own.
    if (this.config.challenge === 'http-01' && !this.deps.webroot) return;
    for (const authz of await client.getAuthorizations(order).catch(() => [])) {
      for (const c of authz.challenges.filter((c) => c.type === this.config.challenge)) await this.removeAnswer(client, authz, c).catch(() => undefined);
    }
  }

  /** Takes this order's answer to challenge `c` of `authz` from where answerChallenges put it (another order's stays). */
  private async removeAnswer(client: acme.Client, authz: acme.Authorization, c: acme.Authorization['challenges'][number]): Promise<void> {
    const { dnsRecords, webroot, tlsAlpnAnswers } = this.deps;
    if (this.config.challenge === 'http-01') return webroot!.remove(c.token);
    const keyAuthorization = await client.getChallengeKeyAuthorization(c);
    const name = authz.identifier.value;
    return this.config.challenge === 'dns-01' ? dnsRecords!.remove(`_acme-challenge.${name}`, keyAuthorization) : tlsAlpnAnswers!.remove(name.toLowerCase(), keyAuthorization);
  }

  complete(reference: string): Promise<{ certificatePem: string; chainPem: string } | undefined> {
    return this.resume(reference).catch((err) => Promise.reject(upstream(this.name, err)));
  }

  private async resume(reference: string): Promise<{ certificatePem: string; chainPem: string } | undefined> {
    const known = await this.deps.journal.recall(this.name, reference);
    if (!known) throw new NotFoundError(`issuer ${this.name} has no order under ${reference}`, 'validationReference');
    const result = await this.progress(reference, JSON.parse(known) as OrderState, 0);
    return 'pending' in result ? undefined : result;
  }

  /**
   * Carries the order on (RFC 8555 7.4): finalized once ready, the certificate fetched once valid.
   * Polls for up to `waitMs`; an invalid order is an IssuerRefusedError with the CA's problem type and detail.
   */
  private async progress(reference: string, state: OrderState, waitMs: number): Promise<IssueResult> {
    const client = await this.account();
    const now = () => this.deps.clock.now().getTime();
    const deadline = now() + waitMs;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    const pending = { pending: { reference, validationRecords: [] } };
    let answered = false;
    for (let backoff = POLL_MS.first; ; backoff = Math.min(backoff * 2, POLL_MS.backoffMax)) {
      // Not asked again before the CA said (RFC 8555 7.4), by this attempt or a later one (the sweep's).
      const notBefore = this.nextPoll.get(state.orderUrl) ?? 0;
      if (notBefore > now()) {
        if (notBefore > deadline) return pending;
        await sleep(notBefore - now());
      }
      let order = await this.asking(state.orderUrl, state.orderUrl, () => client.getOrder({ url: state.orderUrl } as acme.Order));
      // Answered here, not only when ordering: an attempt that died between journaling the order and answering leaves it to whoever resumes it.
      if (order.status === 'pending' && !answered) answered = await this.answerChallenges(client, order);
      let answeredAt = state.orderUrl;
      if (order.status === 'ready') {
        await this.removeRecords(client, order);
        const ready = order;
        order = await this.asking(state.orderUrl, ready.finalize, () => client.finalizeOrder(ready, state.csrPem));
        answeredAt = order.finalize;
      }
      if (order.status === 'valid') {
        this.nextPoll.delete(state.orderUrl);
        return this.issued(await client.getCertificate(order), state.csrPem);
      }
      if (order.status === 'invalid') {
        this.nextPoll.delete(state.orderUrl);
        await this.removeRecords(client, order);
        throw new IssuerRefusedError(`issuer ${this.name}: the CA refused the order: ${await this.problem(client, order)}`, 'issuer');
      }
      if (this.holdOff(state.orderUrl, answeredAt, backoff) > deadline) return pending;
    }
  }

  /** When each order still being processed may be asked about again (ms since the epoch), as the CA's Retry-After or the backoff says. */
  private readonly nextPoll = new Map<string, number>();

  /** A call about an order; a refusal that says when to come back (429 rateLimited, 503: RFC 8555 6.6) holds the order's next look until then. */
  private async asking<T>(orderUrl: string, url: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      this.holdOff(orderUrl, url);
      throw err;
    }
  }

  /**
   * Sets when the order may be asked about next: after the Retry-After that `url` answered last
   * (bounded), else after `backoffMs`; with neither, nothing changes. Returns that moment (ms).
   */
  private holdOff(orderUrl: string, url: string, backoffMs: number): number;
  private holdOff(orderUrl: string, url: string): number | undefined;
  private holdOff(orderUrl: string, url: string, backoffMs?: number): number | undefined {
    const now = this.deps.clock.now().getTime();
    const asked = retryAfterMs(retryAfters.get(url), now);
    const pause = asked === undefined ? backoffMs : Math.min(Math.max(asked, POLL_MS.asked.min), POLL_MS.asked.max);
    if (pause === undefined) return undefined;
    this.nextPoll.delete(orderUrl);
    this.nextPoll.set(orderUrl, now + pause);
    if (this.nextPoll.size > NEXT_POLLS_KEPT) this.nextPoll.delete(this.nextPoll.keys().next().value!);
    return now + pause;
  }

  /** The first problem document (RFC 8555 6.7) an invalid order's authorizations carry, as "type: detail". */
  private async problem(client: acme.Client, order: acme.Order): Promise<string> {
    const orderError = (order as { error?: { type?: string; detail?: string } }).error;
    if (orderError) return `${orderError.type}: ${orderError.detail}`;
    for (const authz of await client.getAuthorizations(order)) {
      const failed = authz.challenges.find((c) => (c as { error?: unknown }).error) as { error: { type?: string; detail?: string } } | undefined;
      if (failed) return `${failed.error.type}: ${failed.error.detail} (${authz.identifier.value})`;
    }
    return 'no reason given';
  }

  /**
   * The downloaded chain split into the leaf and the rest, the leaf checked against the CSR (its
   * key and exactly its names: a CA answering otherwise is refused), and journaled by serial for
   * revocation.
   */
  private async issued(fullChainPem: string, csrPem: string): Promise<{ certificatePem: string; chainPem: string }> {
    const [leaf, ...rest] = certificateBlocks(fullChainPem, 'certificate');
    const parsed = parseCertificate(leaf);
    const record = recordOf(parsed);
    const csr = await readCsr(csrPem);
    if (Buffer.compare(Buffer.from(parsed.spkiDer), Buffer.from(csr.spkiDer)) !== 0 || !sameNames(record.subjectAlternativeNames, csr.names)) {
      throw new IssuerRefusedError(`issuer ${this.name}: the CA issued a certificate for ${record.subjectAlternativeNames.join(', ')} that is not the one asked for (its key or names differ from the CSR's)`, 'issuer');
    }
    const certificatePem = toPem(leaf);
    await this.deps.journal.record(this.name, `serial:${record.serialNumber}`, certificatePem);
    return { certificatePem, chainPem: rest.map((der) => toPem(der)).join('') };
  }

  private directory?: { renewalInfo?: string; profiles?: string[]; until: number };

  /**
   * What a renewal's order names as replaced (RFC 9773 5): the predecessor's ARI id, where the CA
   * takes renewal information and the predecessor is one this issuer issued (journaled by serial)
   * with an authority key identifier; otherwise nothing.
   */
  private async replaces(pem: string | undefined): Promise<string | undefined> {
    if (!pem || !(await this.directoryFacts()).renewalInfo) return undefined;
    const parsed = parseCertificate(certificateBlocks(pem, 'replaces')[0], 'replaces');
    if (!parsed.extensions.authorityKeyId || !(await this.deps.journal.recall(this.name, `serial:${recordOf(parsed).serialNumber}`))) return undefined;
    return ariCertId(parsed);
  }

  /**
   * What the directory offers beyond RFC 8555: its renewalInfo URL (RFC 9773 3) and the names of its
   * certificate profiles (meta.profiles, draft-aaron-acme-profiles), each undefined where the CA
   * offers none; the directory is read again after an hour.
   */
  private async directoryFacts(): Promise<{ renewalInfo?: string; profiles?: string[] }> {
    const now = this.deps.clock.now().getTime();
    if (!this.directory || this.directory.until < now) {
      const read = (await (await acmeLibrary()).axios.get(this.config.directoryUrl, ARI_REQUEST)).data as { renewalInfo?: unknown; meta?: { profiles?: unknown } };
      const profiles = read?.meta?.profiles;
      this.directory = {
        renewalInfo: typeof read?.renewalInfo === 'string' ? read.renewalInfo : undefined,
        profiles: profiles && typeof profiles === 'object' && !Array.isArray(profiles) ? Object.keys(profiles) : undefined,
        until: now + 3600_000,
      };
    }
    return this.directory;
  }

  /** The configured profile, once the CA is seen to offer it; IssuerRefusedError naming the setting otherwise. */
  private async profile(): Promise<string | undefined> {
    const wanted = this.config.profile;
    if (wanted === undefined) return undefined;
    const offered = (await this.directoryFacts()).profiles;
    if (!offered?.includes(wanted)) throw new IssuerRefusedError(`issuer ${this.name}: the CA offers no profile ${JSON.stringify(wanted)} (${offered?.length ? `its profiles: ${offered.join(', ')}` : 'its directory names no profiles'})`, `issuers.${this.name}.profile`);
    return wanted;
  }

  /**
   * The CA's suggested renewal window for a certificate it issued (RFC 9773 4.2): GET
   * <renewalInfo>/<certID>, unauthenticated; undefined when the directory offers no renewalInfo.
   * Retry-After (seconds or an HTTP date) says when to ask again. UpstreamError when the CA fails.
   */
  suggestedWindow(certificatePem: string): Promise<SuggestedWindow | undefined> {
    return this.window(certificatePem).catch((err) => Promise.reject(upstream(this.name, err)));
  }

  private async window(certificatePem: string): Promise<SuggestedWindow | undefined> {
    const url = (await this.directoryFacts()).renewalInfo;
    if (!url) return undefined;
    const certId = ariCertId(parseCertificate(certificateBlocks(certificatePem, 'certificate')[0]));
    const answer = await (await acmeLibrary()).axios.get(`${url.replace(/\/$/, '')}/${certId}`, ARI_REQUEST);
    if (answer.status !== 200) throw new UpstreamError(`issuer ${this.name}: renewalInfo for ${certId} answered ${answer.status}`, 'issuer');
    const retryAfter = retryAfterMs(answer.headers['retry-after'] as string | undefined, this.deps.clock.now().getTime());
    return readSuggestedWindow(answer.data, retryAfter === undefined ? undefined : Math.round(retryAfter / 1000));
  }

  async chainPem(): Promise<string> {
    return '';
  }

  /** Revokes through the CA with the account that ordered it (RFC 8555 7.6). */
  async revoke(serialNumber: string, reason: RevocationReason): Promise<void> {
    const certificatePem = await this.deps.journal.recall(this.name, `serial:${serialNumber}`);
    if (!certificatePem) throw new NotFoundError(`issuer ${this.name} issued no certificate with serial ${serialNumber} through certops`, 'serialNumber');
    try {
      await (await this.account()).revokeCertificate(certificatePem, { reason: REVOCATION_REASONS[reason] });
    } catch (err) {
      // Revoking one already revoked changes nothing (RFC 8555 7.6).
      if (!/urn:ietf:params:acme:error:alreadyRevoked/.test((err as Error).message)) throw upstream(this.name, err);
    }
  }
}
