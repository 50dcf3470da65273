import type { BusEvent } from '../../../shared/events/envelope.ts';

const DEPLOYMENT_STATUS: Record<string, string> = {
  'deployment.succeeded': 'deployed',
  'deployment.failed': 'failed',
  'deployment.rolled_back': 'rolled_back',
  'renewal.succeeded': 'deployed',
  'renewal.failed': 'failed',
};

/** Renewal steps before any deployment: a renewal that failed there deployed nothing. */
const BEFORE_DEPLOYING = new Set(['lock', 'renew']);

/** What the event says of a deployment, if anything: a renewal with no targets, or one that failed before deploying, says nothing. */
function deploymentStatus(type: string, d: Record<string, unknown>, targets: unknown[]): string | null {
  if (type === 'renewal.succeeded' && targets.length === 0) return null;
  if (type === 'renewal.failed' && BEFORE_DEPLOYING.has(String(d.step))) return null;
  return DEPLOYMENT_STATUS[type] ?? null;
}

/** Anything that could hold key material is dropped before an event leaves certops. */
const SECRET = /PRIVATE KEY-----/;

export function withoutSecrets(detail: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([k, v]) => !/privateKey|secret|token/i.test(k) && !(typeof v === 'string' && SECRET.test(v))));
}

/** The seed JSON shape security teams already ingest, followed by the event's own fields. */
export function seedRecord(event: BusEvent): Record<string, unknown> {
  const d = withoutSecrets(event.detail);
  const targets = Array.isArray(d.targets) ? d.targets : typeof d.target === 'string' ? [d.target] : [];
  return {
    timestamp: d.occurredAt,
    event_type: event.detailType,
    certificate_subject: d.subject ?? null,
    certificate_serial: d.serialNumber ?? null,
    issuer: d.issuer ?? null,
    expiration_date: d.notAfter ?? null,
    deployment_status: deploymentStatus(event.detailType, d, targets),
    target_systems: targets,
    source: event.source,
    ...d,
  };
}
