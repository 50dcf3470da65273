import type { AcmeServerStore } from '../../../shared/acme-server.ts';
import type { CertificateStore, Clock } from '../../../shared/ports.ts';
import { renewalWindowOpens, type RenewalWindow } from '../../../shared/renewal-window.ts';
import { AcmeProblem } from './problems.ts';

/** How long a client should wait before asking again (RFC 9773 4.3: Retry-After), in seconds. */
export const RENEWAL_INFO_RETRY_AFTER_S = 6 * 3600;
const HOUR_MS = 3_600_000;

export interface RenewalInfoDeps {
  acmeStore: Pick<AcmeServerStore, 'orderByAriCertId' | 'order'>;
  certificates: Pick<CertificateStore, 'get'>;
  clock: Clock;
  renewalWindow: RenewalWindow;
}

/**
 * renewalInfo (RFC 9773 4.2) for a certificate this server issued, named by its ARI identifier:
 * from when certops' own renewal window opens to halfway from there to expiry, so clients renew
 * when certops would. A revoked certificate's window has passed: renew now.
 */
export async function renewalInfoOf(certId: string, deps: RenewalInfoDeps) {
  const orderId = /^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200}$/.test(certId) ? await deps.acmeStore.orderByAriCertId(certId) : undefined;
  const order = orderId ? await deps.acmeStore.order(orderId) : undefined;
  const cert = order?.certificateId ? await deps.certificates.get(order.certificateId) : undefined;
  if (!cert) throw new AcmeProblem('malformed', 'no certificate issued here has this ARI identifier (RFC 9773 4.1)', 404);
  const now = deps.clock.now().getTime();
  if (cert.status === 'revoked') return { suggestedWindow: { start: new Date(now - 2 * HOUR_MS).toISOString(), end: new Date(now - HOUR_MS).toISOString() } };
  const start = renewalWindowOpens(cert.notBefore, cert.notAfter, deps.renewalWindow).getTime();
  const end = start + (Date.parse(cert.notAfter) - start) / 2;
  return { suggestedWindow: { start: new Date(start).toISOString(), end: new Date(end).toISOString() } };
}
