import { generateKeyPairSync } from 'node:crypto';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';
import { CertopsError, ConflictError, NotFoundError, UpstreamError } from '../../shared/errors.ts';
import type { AcmeChallengeAnswers, CertificateAuthority, Clock, IssuanceJournal, IssueResult, KeyVault, SignInput } from '../../shared/ports.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../shared/x509/crl-builder.ts';
import { certificateBlocks, toPem } from '../../shared/x509/pem.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import type { AcmeIssuerConfig } from '../suite-config.ts';

export interface AcmeDeps {
  clock: Clock;
  /** Orders by idempotency key, and issued certificates by serial (for revocation). */
  journal: IssuanceJournal;
  /** The CA-level vault: the account key lives at `ca/<issuer>/acme-account`. */
  vault: KeyVault;
  answers: AcmeChallengeAnswers;
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

/** How long a challenge's answer is served: an order's authorizations are validated within minutes. */
const ANSWER_MS = 60 * 60_000;

const bundles = new Set<string>();
/**
 * acme-client sends through one axios instance: the roots it trusts are the system's and every
 * configured issuer's caBundle (a private ACME server, e.g. a test CA's).
 */
function trust(caBundlePem: string | undefined): void {
  if (!caBundlePem || bundles.has(caBundlePem)) return;
  bundles.add(caBundlePem);
  acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ...bundles], keepAlive: true });
}

// acme-client reports a problem document (RFC 8555 6.7) by its detail alone: its type goes in front.
acme.axios.interceptors.response.use((res) => {
  const problem = res.data as { type?: unknown; detail?: unknown } | undefined;
  if (res.status >= 400 && problem && typeof problem.type === 'string' && typeof problem.detail === 'string' && !problem.detail.startsWith(problem.type)) problem.detail = `${problem.type}: ${problem.detail}`;
  return res;
});

/** What the CA or the way to it said, as an UpstreamError naming the issuer; certops' own errors as they are. */
function upstream(name: string, err: unknown): Error {
  if (err instanceof CertopsError) return err;
  return new UpstreamError(`issuer ${name}: the ACME CA answered: ${(err as Error).message}`, 'issuer');
}

/**
 * Certificates from an ACME CA (RFC 8555): an order for the request's names, each authorization
 * proven with http-01 from certops' own server (GET /.well-known/acme-challenge/{token}), the
 * order finalized with the request's CSR, the certificate downloaded with its chain. An order is
 * journaled under the request's idempotency key before its challenges are answered, so a retry
 * resumes it instead of ordering again. `issue` waits `waitMs` for the CA and otherwise answers
 * pending; `complete` carries the order on from where it stands (the scheduled sweep).
 * badNonce retries and Retry-After on rate limits are acme-client's (RFC 8555 6.5, 6.6).
 */
export class AcmeAuthority implements CertificateAuthority {
  private client?: Promise<acme.Client>;

  constructor(readonly name: string, private readonly config: AcmeIssuerConfig, private readonly deps: AcmeDeps) {
    trust(config.caBundlePem);
  }

  private get accountKeyRef() {
    return `ca/${this.name}/acme-account`;
  }

  /** The account (RFC 8555 7.3): its key made once and kept in the vault; asking again with the same key finds the same account. */
  private account(): Promise<acme.Client> {
    this.client ??= (async () => {
      const kept = await this.deps.vault.get(this.accountKeyRef).catch((err) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      let accountKey = kept;
      if (!accountKey) {
        accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
        await this.deps.vault.put(this.accountKeyRef, accountKey);
      }
      const eab = this.config.externalAccountBinding;
      const externalAccountBinding = eab && this.deps.eabHmacKey ? { kid: eab.kid, hmacKey: await this.deps.eabHmacKey() } : undefined;
      const client = new acme.Client({ directoryUrl: this.config.directoryUrl, accountKey, ...(externalAccountBinding ? { externalAccountBinding } : {}) });
      await client.createAccount({ termsOfServiceAgreed: this.config.termsOfServiceAgreed, ...(this.config.contact.length ? { contact: this.config.contact } : {}) });
      return client;
    })();
    this.client.catch(() => (this.client = undefined));
    return this.client;
  }

  issue(input: SignInput): Promise<IssueResult> {
    return this.order(input).catch((err) => Promise.reject(upstream(this.name, err)));
  }

  private async order(input: SignInput): Promise<IssueResult> {
    const key = input.idempotencyKey ?? crypto.randomUUID();
    const known = await this.deps.journal.recall(this.name, key);
    if (known) return this.progress(key, JSON.parse(known) as OrderState, this.deps.waitMs ?? 15_000);
    const client = await this.account();
    const names = [...new Set([input.commonName, ...input.subjectAlternativeNames])];
    const order = await client.createOrder({ identifiers: names.map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value })) });
    // The first attempt's order wins: a racing retry carries that one on and leaves its own to lapse.
    const state = JSON.parse(await this.deps.journal.record(this.name, key, JSON.stringify({ orderUrl: order.url, csrPem: input.csrPem } satisfies OrderState))) as OrderState;
    if (state.orderUrl === order.url) await this.answerChallenges(client, order);
    return this.progress(key, state, this.deps.waitMs ?? 15_000);
  }

  /** Serves each pending authorization's http-01 answer, then tells the CA it may validate (RFC 8555 7.5.1). */
  private async answerChallenges(client: acme.Client, order: acme.Order): Promise<void> {
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status !== 'pending') continue;
      const challenge = authz.challenges.find((c) => c.type === 'http-01');
      if (!challenge) throw new ConflictError(`issuer ${this.name}: the CA offers no http-01 challenge for ${authz.identifier.value} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`, 'issuer');
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      await this.deps.answers.put(challenge.token, keyAuthorization, new Date(this.deps.clock.now().getTime() + ANSWER_MS));
      if (challenge.status === 'pending') await client.completeChallenge(challenge);
    }
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
   * Polls for up to `waitMs`; an invalid order is a ConflictError with the CA's problem type and detail.
   */
  private async progress(reference: string, state: OrderState, waitMs: number): Promise<IssueResult> {
    const client = await this.account();
    const deadline = this.deps.clock.now().getTime() + waitMs;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let pause = 250; ; pause = Math.min(pause * 2, 2000)) {
      let order = await client.getOrder({ url: state.orderUrl } as acme.Order);
      if (order.status === 'ready') order = await client.finalizeOrder(order, state.csrPem);
      if (order.status === 'valid') return this.issued(await client.getCertificate(order));
      if (order.status === 'invalid') throw new ConflictError(`issuer ${this.name}: the CA refused the order: ${await this.problem(client, order)}`, 'issuer');
      if (this.deps.clock.now().getTime() + pause > deadline) return { pending: { reference, validationRecords: [] } };
      await sleep(pause);
    }
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

  /** The downloaded chain split into the leaf and the rest; the leaf journaled by serial for revocation. */
  private async issued(fullChainPem: string): Promise<{ certificatePem: string; chainPem: string }> {
    const [leaf, ...rest] = certificateBlocks(fullChainPem, 'certificate');
    const certificatePem = toPem(leaf);
    await this.deps.journal.record(this.name, `serial:${certificateRecord(leaf).serialNumber}`, certificatePem);
    return { certificatePem, chainPem: rest.map((der) => toPem(der)).join('') };
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
