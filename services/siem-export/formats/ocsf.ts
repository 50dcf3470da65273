import type { BusEvent } from '../../../shared/events/envelope.ts';
import { severityOf } from './severity.ts';
import { withoutSecrets } from './seed.ts';

/** OCSF severity_id: 1 informational, 2 low, 3 medium, 4 high, 5 critical. */
const SEVERITY_ID = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };
const OCSF_VERSION = '1.1.0';
const FINDINGS = new Set(['ct.unauthorized_certificate', 'ct.log_misbehaviour', 'finding.raised']);
/** Entity Management activities: 1 Create, 3 Update, 4 Delete, 99 Other. */
const ACTIVITY: Record<string, number> = { issued: 1, discovered: 1, requested: 1, changed: 3, succeeded: 3, rolled_back: 3, revoked: 4, expired: 4 };

function metadata(event: BusEvent) {
  return { version: OCSF_VERSION, uid: event.detail.eventId, correlation_uid: event.detail.correlationId, product: { name: 'certops', vendor_name: 'certops', feature: { name: event.source } } };
}

/**
 * Open Cybersecurity Schema Framework (Amazon Security Lake's format): findings (a CT certificate
 * nobody asked for, a misbehaving log, a certificate finding) as Detection Finding (2004);
 * certificate lifecycle events as Entity Management (3004) of the certificate. Every attribute
 * the class requires is filled.
 */
export function ocsfRecord(event: BusEvent): Record<string, unknown> {
  const d = withoutSecrets(event.detail);
  const time = Date.parse(String(d.occurredAt));
  const severity = severityOf(event);
  const certificate = d.serialNumber || d.fingerprintSha256 ? {
    serial_number: d.serialNumber, subject: d.subject, issuer: d.issuer, expiration_time: d.notAfter ? Date.parse(String(d.notAfter)) : undefined,
    fingerprints: d.fingerprintSha256 ? [{ algorithm_id: 3, algorithm: 'SHA-256', value: String(d.fingerprintSha256).replaceAll(':', '') }] : undefined,
  } : undefined;
  if (FINDINGS.has(event.detailType)) {
    const activityId = 1;
    return {
      class_uid: 2004, class_name: 'Detection Finding', category_uid: 2, category_name: 'Findings',
      activity_id: activityId, activity_name: 'Create', type_uid: 2004 * 100 + activityId,
      time, severity_id: SEVERITY_ID[severity], severity: severity.charAt(0).toUpperCase() + severity.slice(1),
      status_id: 1, status: 'New',
      message: String(d.message ?? d.reason ?? event.detailType),
      finding_info: {
        uid: String(d.findingId ? `${d.certificateId}:${d.findingId}` : d.eventId),
        title: event.detailType === 'ct.unauthorized_certificate' ? `Certificate for ${(d.names as string[] | undefined)?.join(', ')} logged in CT by an unknown party` : event.detailType === 'ct.log_misbehaviour' ? `CT log ${d.logUrl} misbehaved` : String(d.message ?? d.findingId),
        created_time: time, types: [event.detailType], src_url: d.logUrl,
      },
      metadata: metadata(event),
      ...(certificate ? { evidences: [{ data: { certificate } }] } : {}),
      unmapped: d,
    };
  }
  const activityId = ACTIVITY[event.detailType.split('.').pop()!] ?? 99;
  return {
    class_uid: 3004, class_name: 'Entity Management', category_uid: 3, category_name: 'Identity & Access Management',
    activity_id: activityId, activity_name: activityId === 1 ? 'Create' : activityId === 3 ? 'Update' : activityId === 4 ? 'Delete' : 'Other',
    type_uid: 3004 * 100 + activityId, time, severity_id: SEVERITY_ID[severity],
    message: event.detailType,
    entity: { name: String(d.subject ?? d.requestId ?? d.scanId ?? event.detailType), uid: String(d.certificateId ?? d.requestId ?? d.scanId ?? d.eventId), type: d.certificateId ? 'certificate' : 'request' },
    metadata: metadata(event),
    ...(certificate ? { unmapped: { ...d, certificate } } : { unmapped: d }),
  };
}
