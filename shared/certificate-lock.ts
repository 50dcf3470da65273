/**
 * The one lock that serialises changes to where a certificate is served: the renewal saga holds
 * it from lock to commit or abort, and deployment of a newly issued certificate holds it too.
 */
export function certificateLock(certificateId: string): string {
  return `certificate/${certificateId}`;
}

/** How long a holder may keep it; a crashed holder's lock expires by itself. */
export const CERTIFICATE_LOCK_MS = 60 * 60_000;
