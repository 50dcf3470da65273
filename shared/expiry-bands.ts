const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Days before expiry at which a certificate of 90 days or more enters each expiry band. */
export const EXPIRY_THRESHOLDS = [30, 14, 7, 1] as const;
export type ExpiryThreshold = (typeof EXPIRY_THRESHOLDS)[number];

/** The lifetime the thresholds are set for: the 90 days most TLS certificates live. */
const FULL_SCALE_MS = 90 * DAY_MS;

/**
 * The nearest expiry band a certificate has entered as of `now` (its threshold, in days for a
 * certificate of 90 days or more), or undefined before the first band and once it has expired.
 * A shorter lifetime scales every threshold in proportion, so each band starts at the same share
 * of a short life as of a 90-day one: the first at its last third, where the default renewal
 * window opens (RenewalWindow), and a 6-day or 30-day certificate is not "expiring" the day it is
 * issued. `notBefore`, `notAfter`: ISO 8601 times (RFC 5280 4.1.2.5).
 */
export function expiryBand(notBefore: string, notAfter: string, now: Date): ExpiryThreshold | undefined {
  const end = Date.parse(notAfter);
  const left = end - now.getTime();
  if (!(left > 0)) return undefined;
  const scale = Math.min(1, Math.max(0, end - Date.parse(notBefore)) / FULL_SCALE_MS);
  const crossed = EXPIRY_THRESHOLDS.filter((t) => left <= t * DAY_MS * scale);
  return crossed.length ? (Math.min(...crossed) as ExpiryThreshold) : undefined;
}

/** A time left as a person reads it: whole days from two days up, else whole hours ("1 day", "5 hours", "less than an hour"). */
export function timeLeft(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} days`;
  if (ms >= DAY_MS) return '1 day';
  const hours = Math.floor(ms / HOUR_MS);
  return hours >= 2 ? `${hours} hours` : hours === 1 ? '1 hour' : 'less than an hour';
}
