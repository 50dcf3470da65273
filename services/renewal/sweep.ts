import type { CertificateStore, Clock, EventPublisher, LockStore, RequestStore, SagaStarter } from '../../shared/ports.ts';
import { certificateLock } from '../../shared/certificate-lock.ts';
import { expiryAlerts } from './expiry-alerts.ts';
import { EXPIRY_THRESHOLDS } from '../../shared/expiry-bands.ts';
import { renewalDue, renewedByCertops, type RenewalWindow } from '../../shared/renewal-window.ts';
import { askAgainAfter, renewalInfo, type SuggestedWindow } from '../../shared/ari.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { SigningConfig } from '../../shared/signing-policy.ts';
import { judgeRenewal } from '../../shared/renewal-signature.ts';

export interface SweepDeps {
  clock: Clock;
  certificates: CertificateStore;
  saga: SagaStarter;
  publisher: EventPublisher;
  /** Where the DaysToExpiry metric goes (CloudWatch embedded metrics on AWS). */
  recordDaysToExpiry?(cert: { id: string; commonName?: string }, days: number): void;
  /** Who holds a certificate's lock: a certificate being deployed or renewed is left for the next sweep. */
  locks?: Pick<LockStore, 'holder'>;
  /** Where a renewal's approval is read: one waiting for an approver, or refused by one, is not asked again each day. */
  requests?: Pick<RequestStore, 'get'>;
  /** The policy in force: a renewal whose request waits for an approver starts anyway once the policy lets it through without one. */
  signing?: SigningConfig;
  /**
   * ACME Renewal Information (RFC 9773): the CA's suggested window for a certificate (undefined
   * where its CA offers none), asked again when the last answer's Retry-After has passed; the
   * sweep looks `horizonDays` ahead for it, so a window moved forward (a mass revocation) is seen
   * within the next sweep. `random` (0..1) picks the moment in the window.
   */
  ari?: { horizonDays: number; ask(cert: StoredCertificate): Promise<SuggestedWindow | undefined>; random(): number; warn(cert: StoredCertificate, err: Error): void; budgetMs: number; elapsedMs(): number };
}

export interface SweepResult {
  examined: number;
  started: string[];
  alerts: number;
  expired: string[];
}

const DAY_MS = 86_400_000;

/**
 * Sweeps start one saga per certificate per day, so a repeated or retried sweep starts nothing new;
 * each manual renewal is an attempt of its own (the caller's `nonce` tells them apart).
 */
export function executionName(certificateId: string, at: Date, trigger: 'sweep' | 'manual' | 'approval', nonce = ''): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  // An approval's renewal is named by its request alone (within the 80 characters Step Functions allows), so a redelivered approval starts nothing new.
  if (trigger === 'approval') return `renew-${certificateId}-approved-${nonce.slice(0, 16)}`;
  return `renew-${certificateId}-${trigger === 'manual' ? `manual-${stamp.slice(0, 15)}-${nonce.slice(0, 8)}` : stamp.slice(0, 8)}`;
}

/**
 * Walks the certificates that expire within the alert or renewal horizon (an index query on
 * expiry, never a scan): sends the expiry alerts each is due, marks expired ones, and starts the
 * renew-then-deploy saga for managed certificates whose renewal window has opened. Discovered
 * certificates get the alerts but are renewed only once adopted.
 */
export async function sweepExpiring(deps: SweepDeps, window: RenewalWindow): Promise<SweepResult> {
  const now = deps.clock.now();
  const horizon = new Date(now.getTime() + Math.max(window.days, ...EXPIRY_THRESHOLDS, deps.ari?.horizonDays ?? 0) * DAY_MS);
  const result: SweepResult = { examined: 0, started: [], alerts: 0, expired: [] };
  let nextToken: string | undefined;
  do {
    const page = await deps.certificates.expiringBefore(horizon, 100, nextToken);
    for (const cert of page.items) {
      result.examined++;
      // Each alert once: the id of the last one sent is kept on the certificate (an hourly sweep
      // would otherwise send the same alerts every hour, for the consumers to drop). Published
      // before it is recorded, so a crash between the two sends it again, never loses it.
      const alerts = expiryAlerts(cert, now).filter((e) => e.detail.eventId !== cert.lastExpiryAlert);
      if (alerts.length) {
        await deps.publisher.publish(alerts);
        if (alerts[0].detailType === 'certificate.expiring') await deps.certificates.update(cert.id, { lastExpiryAlert: String(alerts[0].detail.eventId) });
      }
      result.alerts += alerts.length;
      const managed = renewedByCertops(cert);
      if (managed) deps.recordDaysToExpiry?.(cert, (Date.parse(cert.notAfter) - now.getTime()) / DAY_MS);
      if (Date.parse(cert.notAfter) <= now.getTime()) {
        await deps.certificates.update(cert.id, { status: 'expired' });
        result.expired.push(cert.id);
        continue;
      }
      if (!managed || cert.status !== 'active') continue;
      const info = await askedAgain(cert, deps, now);
      if (renewalDue({ ...cert, renewalInfo: info }, window).at > now) continue;
      // Its lock is held (its first deployment still runs, or a renewal): the execution would fail at
      // Lock and take the day's execution name with it, so the next sweep starts it instead.
      if (await deps.locks?.holder(certificateLock(cert.id))) continue;
      if (await awaitsApprover(cert, deps)) continue;
      const name = executionName(cert.id, now, 'sweep');
      await deps.saga.start(name, { certificateId: cert.id, executionName: name, trigger: 'sweep' });
      result.started.push(cert.id);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return result;
}

/**
 * The certificate's renewal information, asked of its CA again once the last answer's Retry-After
 * has passed (and kept on the certificate); what it had when the CA offers none or fails (the
 * sweep goes on, on the default window if need be).
 */
async function askedAgain(cert: StoredCertificate, deps: SweepDeps, now: Date): Promise<StoredCertificate['renewalInfo']> {
  if (!deps.ari || (cert.renewalInfo && Date.parse(cert.renewalInfo.checkAfter) > now.getTime())) return cert.renewalInfo;
  // Slow or failing CAs may not hold up the rest of the sweep (the alerts and every other renewal): past the budget, the next sweep asks.
  if (deps.ari.elapsedMs() > deps.ari.budgetMs) return cert.renewalInfo;
  try {
    const suggested = await deps.ari.ask(cert);
    if (!suggested) return cert.renewalInfo;
    const info = renewalInfo(cert.renewalInfo, suggested, now, deps.ari.random());
    await deps.certificates.update(cert.id, { renewalInfo: info });
    return info;
  } catch (err) {
    deps.ari.warn(cert, err as Error);
    // What the CA said last stands until it answers again, asked an hour later rather than every sweep.
    if (cert.renewalInfo) await deps.certificates.update(cert.id, { renewalInfo: { ...cert.renewalInfo, checkAfter: askAgainAfter(now, 0).toISOString() } });
    return cert.renewalInfo;
  }
}

/**
 * Whether the renewal's approval request is with a person: waiting for a decision, or refused by
 * an approver (who is not asked again by a machine; `certops renew` asks anew), while the policy
 * in force still wants an approver's yes (one that no longer does lets the renewal through, as
 * the readiness report says). A request that lapsed unanswered is asked again by the next renewal.
 */
async function awaitsApprover(cert: StoredCertificate, deps: SweepDeps): Promise<boolean> {
  const request = cert.renewalRequestId ? await deps.requests?.get(cert.renewalRequestId) : undefined;
  const withPerson = request?.status === 'pending_approval' || (request?.status === 'rejected' && request.decidedBy !== 'expiry');
  if (!withPerson || !deps.signing || !deps.requests) return withPerson;
  return (await judgeRenewal(cert, { ...deps.signing, requests: deps.requests })) !== 'allowed';
}
