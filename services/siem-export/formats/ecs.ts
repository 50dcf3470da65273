import type { BusEvent } from '../../../shared/events/envelope.ts';
import { severityOf } from './severity.ts';
import { withoutSecrets } from './seed.ts';

const FAILURES = /\.(failed|rejected|rolled_back|unauthorized_certificate|log_misbehaviour)$|expired$/;
const ALERTS = new Set(['ct.unauthorized_certificate', 'ct.log_misbehaviour', 'finding.raised', 'certificate.expiring', 'certificate.expired']);
const TYPES: Record<string, string> = { issued: 'creation', discovered: 'creation', requested: 'creation', revoked: 'deletion', changed: 'change', succeeded: 'change', rolled_back: 'change' };
const SEVERITY_NUMBER = { info: 1, low: 21, medium: 47, high: 73, critical: 99 };

/** Elastic Common Schema: event.* with kind, category, type, action and outcome; x509.* for the certificate; certops.* for the rest. */
export function ecsRecord(event: BusEvent): Record<string, unknown> {
  const d = withoutSecrets(event.detail);
  const verb = event.detailType.split('.').pop()!;
  const cn = typeof d.subject === 'string' ? /CN=([^,]+)/.exec(d.subject)?.[1] : undefined;
  const x509 = d.serialNumber || d.subject ? {
    serial_number: typeof d.serialNumber === 'string' ? d.serialNumber.replaceAll(':', '') : undefined,
    subject: { distinguished_name: d.subject, common_name: cn ? [cn] : undefined },
    issuer: { distinguished_name: d.issuer },
    not_after: d.notAfter,
    alternative_names: d.subjectAlternativeNames ?? d.names,
  } : undefined;
  const severity = severityOf(event);
  return {
    '@timestamp': d.occurredAt,
    ecs: { version: '8.11.0' },
    message: `${event.detailType}${cn ? ` ${cn}` : ''}`,
    event: {
      id: d.eventId,
      kind: ALERTS.has(event.detailType) ? 'alert' : 'event',
      category: [event.detailType.startsWith('ct.') || event.detailType === 'finding.raised' ? 'intrusion_detection' : 'configuration'],
      type: [TYPES[verb] ?? 'info'],
      action: event.detailType,
      outcome: FAILURES.test(event.detailType) ? 'failure' : verb === 'started' || verb === 'pending_approval' || verb === 'requested' ? 'unknown' : 'success',
      provider: event.source,
      module: 'certops',
      dataset: 'certops.events',
      severity: SEVERITY_NUMBER[severity],
      created: d.occurredAt,
    },
    ...(x509 ? { x509 } : {}),
    ...(d.fingerprintSha256 && d.host ? { tls: { server: { hash: { sha256: String(d.fingerprintSha256).replaceAll(':', '') }, x509 } } } : {}),
    ...(d.host ? { server: { address: d.host, port: d.port } } : {}),
    observer: { vendor: 'certops', product: 'certops' },
    certops: d,
  };
}
