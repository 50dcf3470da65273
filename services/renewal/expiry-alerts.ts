import { certificateFields, newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import type { StoredCertificate } from '../../shared/model.ts';

const DAY_MS = 86_400_000;
/** Days before expiry at which certificate.expiring is sent, once each. */
export const THRESHOLDS = [30, 14, 7, 1];

/**
 * The alerts a certificate is due as of `now`: certificate.expiring for the nearest threshold it
 * has crossed, or certificate.expired. Event ids name the certificate and the threshold, so
 * every sweep may send them again and consumers keep one of each.
 */
export function expiryAlerts(cert: StoredCertificate, now: Date): BusEvent[] {
  const left = Date.parse(cert.notAfter) - now.getTime();
  const ctx = (id: string) => ({ now: () => now, newId: () => id });
  if (left <= 0) return [newEvent('certificate.expired', certificateFields(cert), ctx(`expired:${cert.id}`))];
  const crossed = THRESHOLDS.filter((t) => left <= t * DAY_MS);
  if (crossed.length === 0) return [];
  const threshold = Math.min(...crossed);
  return [newEvent('certificate.expiring', { ...certificateFields(cert), daysToExpiry: Math.round((left / DAY_MS) * 10) / 10, threshold }, ctx(`expiring:${cert.id}:${threshold}`))];
}
