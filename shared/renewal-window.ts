import { orderedByAcmeClient } from './acme-requester.ts';

const DAY_MS = 86_400_000;

/** When renewal starts: `days` before expiry, but not before `atLifetimeFraction` of the lifetime has passed. */
export interface RenewalWindow {
  days: number;
  /** 0..1; 2/3 by default. */
  atLifetimeFraction: number;
}

export const DEFAULT_RENEWAL_WINDOW: RenewalWindow = { days: 30, atLifetimeFraction: 2 / 3 };

/**
 * When a certificate's renewal window opens: `days` before expiry, but never before
 * `atLifetimeFraction` of its lifetime (two thirds by default, as cert-manager does), so every
 * certificate serves that much of its life and no lifetime makes a renewal loop (a 31-day
 * certificate with a 30-day window opens at day 20.7, not day 1).
 */
export function renewalWindowOpens(notBefore: string, notAfter: string, window: RenewalWindow): Date {
  const start = Date.parse(notBefore);
  const end = Date.parse(notAfter);
  return new Date(Math.max(end - window.days * DAY_MS, start + (end - start) * window.atLifetimeFraction));
}

/**
 * When the sweep renews a certificate: when the default window opens, or earlier at the moment
 * chosen in its CA's suggested window (ACME Renewal Information, RFC 9773). A CA's window never
 * puts a renewal later than the default one: one after the certificate's expiry, or a stale
 * answer from a CA that stopped offering it, would leave the certificate to lapse.
 */
export function renewalDue(c: { notBefore: string; notAfter: string; renewalInfo?: { renewAt: string } }, window: RenewalWindow): { at: Date; source: 'ca-ari' | 'default-window' } {
  const opens = renewalWindowOpens(c.notBefore, c.notAfter, window);
  return c.renewalInfo && Date.parse(c.renewalInfo.renewAt) < opens.getTime() ? { at: new Date(c.renewalInfo.renewAt), source: 'ca-ari' } : { at: opens, source: 'default-window' };
}

/**
 * Whether certops renews the certificate itself: it issued it, or it was adopted with an issuer;
 * not one an ACME client ordered, which holds its key and renews it itself.
 */
export function renewedByCertops(c: { source: string; issuerBackend?: string; requestedBy?: string; keyRef?: string; renewalOf?: string }): boolean {
  return (c.source === 'issued' || Boolean(c.issuerBackend)) && !orderedByAcmeClient(c);
}
