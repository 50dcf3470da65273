import { certificateFields, newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import { expiryBand } from '../../shared/expiry-bands.ts';
import type { StoredCertificate } from '../../shared/model.ts';

const DAY_MS = 86_400_000;

/**
 * The alerts a certificate is due as of `now`: certificate.expiring for the nearest expiry band it
 * has entered (its `threshold`: 30, 14, 7 or 1 days, scaled down for lifetimes under 90 days, see
 * expiryBand), or certificate.expired. Event ids name the certificate and the band, so every sweep
 * may send them again and consumers keep one of each.
 */
export function expiryAlerts(cert: StoredCertificate, now: Date): BusEvent[] {
  const left = Date.parse(cert.notAfter) - now.getTime();
  const ctx = (id: string) => ({ now: () => now, newId: () => id });
  if (left <= 0) return [newEvent('certificate.expired', certificateFields(cert), ctx(`expired:${cert.id}`))];
  const threshold = expiryBand(cert.notBefore, cert.notAfter, now);
  if (threshold === undefined) return [];
  return [newEvent('certificate.expiring', { ...certificateFields(cert), daysToExpiry: Math.round((left / DAY_MS) * 10) / 10, threshold }, ctx(`expiring:${cert.id}:${threshold}`))];
}
