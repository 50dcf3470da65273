import { ValidationError } from './errors.ts';
import type { ParsedCertificate } from './x509/parse-certificate.ts';

/** A CA's suggested renewal window (RFC 9773 4.2), and when to ask again. */
export interface SuggestedWindow {
  start: Date;
  end: Date;
  /** Where the CA explains the window (a mass revocation, say), if it says. */
  explanationUrl?: string;
  /** Seconds until the CA wants to be asked again (its Retry-After, bounded: see askAgainAfter). */
  retryAfterSeconds: number;
}

/** What certops keeps of a certificate's renewal information (on the certificate). */
export interface RenewalInfo {
  windowStart: string;
  windowEnd: string;
  /** The moment chosen in the window, uniformly at random (RFC 9773 4.2: spreads the CA's load). */
  renewAt: string;
  /** When to ask the CA again. */
  checkAfter: string;
  explanationUrl?: string;
}

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/**
 * A certificate's ARI identifier (RFC 9773 4.1): base64url of its Authority Key Identifier's
 * keyIdentifier, ".", base64url of its serial number's DER content octets. ValidationError on
 * `certificate` for one without an authority key identifier (ARI cannot name it).
 */
export function ariCertId(cert: Pick<ParsedCertificate, 'serialBytes' | 'extensions'>): string {
  const aki = cert.extensions.authorityKeyId;
  if (!aki) throw new ValidationError('the certificate has no authority key identifier, which its ARI identifier needs (RFC 9773 4.1)', 'certificate');
  return `${base64url(Buffer.from(aki.replace(/:/g, ''), 'hex'))}.${base64url(cert.serialBytes)}`;
}

/** Retry-After is honoured between an hour and a day here (RFC 9773 4.3.1: clients SHOULD clamp it). */
const MIN_RETRY_S = 3600;
const MAX_RETRY_S = 86_400;

/** When to ask again after an answer that said `retryAfterSeconds` (or nothing: six hours). */
export function askAgainAfter(now: Date, retryAfterSeconds: number | undefined): Date {
  const seconds = Math.min(MAX_RETRY_S, Math.max(MIN_RETRY_S, retryAfterSeconds ?? 6 * 3600));
  return new Date(now.getTime() + seconds * 1000);
}

/**
 * The window as kept, choosing when to renew in it: the earlier choice stays while it is still
 * inside the window; a window that moved (forward, for a mass revocation, or back) gets a new one.
 * A window whose end has passed means renew now (RFC 9773 4.2). `random` is 0..1.
 */
export function renewalInfo(previous: RenewalInfo | undefined, window: SuggestedWindow, now: Date, random: number): RenewalInfo {
  const start = window.start.getTime();
  const end = window.end.getTime();
  const kept = previous && Date.parse(previous.renewAt) >= start && Date.parse(previous.renewAt) <= end ? previous.renewAt : undefined;
  const renewAt = end <= now.getTime() ? now.toISOString() : kept ?? new Date(start + random * (end - start)).toISOString();
  return {
    windowStart: window.start.toISOString(), windowEnd: window.end.toISOString(), renewAt,
    checkAfter: askAgainAfter(now, window.retryAfterSeconds).toISOString(),
    ...(window.explanationUrl ? { explanationUrl: window.explanationUrl } : {}),
  };
}

/**
 * A renewalInfo answer's body (RFC 9773 4.2) read strictly: `suggestedWindow` with `start` before
 * `end` (RFC 3339), and an optional https `explanationURL`. ValidationError on `renewalInfo` otherwise.
 */
export function readSuggestedWindow(body: unknown, retryAfterSeconds: number | undefined): SuggestedWindow {
  const fail = (why: string) => new ValidationError(`renewalInfo: ${why} (RFC 9773 4.2)`, 'renewalInfo');
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)?.suggestedWindow;
  if (!window || typeof window.start !== 'string' || typeof window.end !== 'string') throw fail('the answer has no suggestedWindow with start and end');
  const start = new Date(window.start);
  const end = new Date(window.end);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw fail('the window\'s start or end is not a date');
  if (end <= start) throw fail('the window ends before it starts');
  const explanation = (body as { explanationURL?: unknown }).explanationURL;
  return { start, end, retryAfterSeconds: retryAfterSeconds ?? 6 * 3600, ...(typeof explanation === 'string' && explanation.startsWith('https://') ? { explanationUrl: explanation } : {}) };
}
