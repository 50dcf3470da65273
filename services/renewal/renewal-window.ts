const DAY_MS = 86_400_000;

/**
 * When a certificate's renewal window opens: `windowDays` before expiry, or, for a certificate
 * whose whole lifetime is not longer than that, at two thirds of its lifetime (as cert-manager
 * does), so short-lived certificates are not renewed the moment they are issued.
 */
export function renewalWindowOpens(notBefore: string, notAfter: string, windowDays: number): Date {
  const start = Date.parse(notBefore);
  const end = Date.parse(notAfter);
  const lifetime = end - start;
  const before = windowDays * DAY_MS < lifetime ? windowDays * DAY_MS : lifetime / 3;
  return new Date(end - before);
}
