import type { CertificateRequest, StoredCertificate } from '../../shared/model.ts';
import { orderedByAcmeClient } from '../../shared/acme-requester.ts';
import { timeLeft } from '../../shared/expiry-bands.ts';
import { renewedByCertops } from '../../shared/renewal-window.ts';
import { NOTICE_SEVERITIES, type Notice, type NoticeSeverity, type NotifiableType, type NotificationRoute } from '../../shared/notification-config.ts';

type Detail = Record<string, unknown>;
const DAY_MS = 86_400_000;
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** The severity of an expiry notice by how close the expiry is (the sweep sends one per threshold). */
function expirySeverity(threshold: number): NoticeSeverity {
  return threshold <= 1 ? 'critical' : threshold <= 7 ? 'high' : threshold <= 14 ? 'medium' : 'low';
}

/** Who renews an expiring certificate, and what to do if it has not been. */
function expiryAction(cert: StoredCertificate | undefined): string {
  if (cert && orderedByAcmeClient(cert)) return `The ACME client that ordered it (${cert.requestedBy}) holds its key and renews it through certops' ACME server; if it has not by now, run that client's renewal (for certbot: certbot renew) and check what runs it on schedule.`;
  if (cert?.status === 'active' && renewedByCertops(cert)) return `certops renews it automatically; if it has not by now, look at its renewal history, or renew it now: certops renew ${cert.id} --wait`;
  return `certops does not renew it: renew it where it was issued, or adopt it (certops adopt ${cert?.id ?? 'ID'} --issuer local --target TARGET) so certops does.`;
}

/**
 * The notice for one event. The certificate or request it is about (owner, environment, names)
 * is the store's as read now, not the event's: events notify, the store is the truth.
 * @param dashboardUrl the dashboard's base URL, without a trailing slash
 */
export function noticeOf(type: NotifiableType, detail: Detail, about: { cert?: StoredCertificate; request?: CertificateRequest }, dashboardUrl: string): Notice {
  const { cert, request } = about;
  const certificate = cert && { id: cert.id, subject: cert.subject, names: cert.subjectAlternativeNames, notAfter: cert.notAfter };
  const name = cert?.commonName ?? cert?.subjectAlternativeNames[0] ?? str(detail.subject);
  const page = cert ? `${dashboardUrl}/#/certificates/${encodeURIComponent(cert.id)}` : dashboardUrl;
  const base = { eventId: str(detail.eventId), eventType: type, occurredAt: str(detail.occurredAt), certificate, link: page, owner: cert?.owner ?? request?.owner, environment: cert?.environment ?? request?.environment };
  switch (type) {
    case 'certificate.expiring': {
      const threshold = Number(detail.threshold);
      const left = timeLeft(Number(detail.daysToExpiry) * DAY_MS);
      return {
        ...base, severity: expirySeverity(threshold),
        title: `${name} expires in ${left}`,
        what: `The certificate for ${name} (${cert?.subjectAlternativeNames.join(', ') ?? name}) expires on ${str(detail.notAfter).slice(0, 10)}, in ${left}.`,
        action: expiryAction(cert),
      };
    }
    case 'renewal.failed':
      if (detail.approvalRequestId) {
        return {
          ...base, severity: 'medium', link: `${dashboardUrl}/#/approvals`,
          title: `Renewing ${name} waits for an approver`,
          what: `The renewal of ${name} needs an approver's yes under the policy in force: ${str(detail.cause)}. Nothing was changed; the certificate in force expires on ${str(detail.notAfter).slice(0, 10)}.`,
          action: `An approver other than the requester decides it on the dashboard, or: certops approve ${str(detail.approvalRequestId)} --comment "why" (or certops reject); once approved, the renewal runs by itself.`,
        };
      }
      return {
        ...base, severity: 'high',
        title: `Renewing ${name} failed at ${str(detail.step)}`,
        what: `The renewal of ${name} failed at its ${str(detail.step)} step: ${str(detail.cause)}. ${detail.step === 'lock' ? 'Nothing was changed' : 'Every target was put back'}; the certificate in force is unchanged.`,
        action: `Fix the cause, then renew again: certops renew ${cert?.id ?? str(detail.certificateId)} --wait (it expires on ${str(detail.notAfter).slice(0, 10)}).`,
      };
    case 'deployment.failed':
      return {
        ...base, severity: 'high',
        title: `Deploying ${name} to ${str(detail.target)} failed`,
        what: `Deploying ${name} to the target ${str(detail.target)} failed: ${str(detail.reason)}.`,
        action: `Check the target (reachable, writable, its reload command), then deploy again: certops deploy ${cert?.id ?? str(detail.certificateId)} --target ${str(detail.target)}.`,
      };
    case 'request.pending_approval':
      return {
        ...base, severity: 'medium', link: `${dashboardUrl}/#/approvals`,
        title: `${str(detail.commonName)} waits for an approver`,
        what: detail.renews
          ? `The renewal of ${str(detail.commonName)} (certificate ${str(detail.renews)}, asked for by ${str(detail.requestedBy) || 'someone'}) needs an approver's yes under the policy in force: ${(detail.reasons as string[] | undefined)?.join('; ') ?? ''}.`
          : `${str(detail.requestedBy) || 'Someone'} asked for a certificate for ${str(detail.commonName)}, which policy lets through only with an approver's yes: ${(detail.reasons as string[] | undefined)?.join('; ') ?? ''}.`,
        action: `An approver other than the requester decides it on the dashboard, or: certops approve ${str(detail.requestId)} --comment "why" (or certops reject).`,
      };
    case 'ct.unauthorized_certificate':
      return {
        ...base, severity: detail.severity === 'high' ? 'high' : 'medium', link: `${dashboardUrl}/#/ct`,
        title: `A certificate for ${(detail.names as string[] | undefined)?.join(', ')} was issued outside certops`,
        what: `Certificate Transparency log ${str(detail.logUrl)} (entry ${str(detail.index)}) holds a certificate for ${(detail.names as string[] | undefined)?.join(', ')} issued by ${str(detail.issuer) || 'an unknown CA'} that certops did not issue.`,
        action: 'If your team knows it, authorize it (it joins the inventory); if not, treat it as an incident: revoke it with its CA and find who asked for it.',
      };
    case 'ct.log_misbehaviour':
      return {
        ...base, severity: 'high', link: `${dashboardUrl}/#/ct`,
        title: `CT log ${str(detail.logUrl)} misbehaved`,
        what: `The CT log ${str(detail.logUrl)} served a tree inconsistent with the one certops verified (size ${str(detail.treeSize)}): ${str(detail.reason)}.`,
        action: 'Report it to the log operator and the CT policy list; certops keeps the last head it verified and will not read past the inconsistency.',
      };
    case 'siem.sink_failing':
      return {
        ...base, severity: 'high', link: `${dashboardUrl}/#/delivery`,
        title: `SIEM sink ${str(detail.sink)} keeps refusing events`,
        what: `The ${str(detail.sinkType)} sink ${str(detail.sink)} refused a batch of ${str(detail.deadLettered)} events ${str(detail.attempts)} times (last: ${str(detail.lastError)}); they are dead-lettered, the oldest queued at ${str(detail.firstFailedAt)}. The audit trail holds every one of them.`,
        action: `Fix the receiver (reachable, its token, its certificate), then send them again: certops siem replay --sink ${str(detail.sink)}.`,
      };
  }
}

/** The channels the routes choose for a notice, each once: those to tell now, and those that take it in their daily digest. */
export function channelsFor(notice: Notice, routes: NotificationRoute[]): { now: string[]; daily: string[] } {
  const rank = (s: NoticeSeverity) => NOTICE_SEVERITIES.indexOf(s);
  const chosen = routes.filter((r) => (!r.events.length || r.events.includes(notice.eventType))
    && rank(notice.severity) >= rank(r.minSeverity)
    && (!r.owners.length || (notice.owner !== undefined && r.owners.includes(notice.owner)))
    && (!r.environments.length || (notice.environment !== undefined && r.environments.includes(notice.environment))));
  const now = [...new Set(chosen.filter((r) => r.delivery === 'immediate').flatMap((r) => r.channels))];
  // A channel told at once is not told again in its digest.
  const daily = [...new Set(chosen.filter((r) => r.delivery === 'daily').flatMap((r) => r.channels))].filter((c) => !now.includes(c));
  return { now, daily };
}

/** Notices a digest names one by one; the rest are counted (chat services cap a message at a few thousand characters). */
export const DIGEST_MAX = 20;

/** Several notices as one: the daily digest a channel gets, the most severe first, at most DIGEST_MAX named. */
export function digestOf(notices: Notice[], dashboardUrl: string, at: string): Notice {
  const sorted = [...notices].sort((a, b) => NOTICE_SEVERITIES.indexOf(b.severity) - NOTICE_SEVERITIES.indexOf(a.severity));
  const named = sorted.slice(0, DIGEST_MAX);
  return {
    eventId: `digest:${at}`,
    eventType: sorted[0].eventType,
    severity: sorted[0].severity,
    title: `${notices.length} notice${notices.length === 1 ? '' : 's'} since the last digest`,
    what: [...named.map((n) => `- [${n.severity}] ${n.title}: ${n.link}`), ...(sorted.length > named.length ? [`- and ${sorted.length - named.length} more: ${dashboardUrl}`] : [])].join('\n'),
    action: 'Open each one for what to do; the dashboard has them all.',
    link: dashboardUrl,
    occurredAt: at,
  };
}
