import type { BusEvent } from '../../../shared/events/envelope.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const SEVERITY_ORDER: Severity[] = ['info', 'low', 'medium', 'high', 'critical'];

const BY_TYPE: Record<string, Severity> = {
  'ct.unauthorized_certificate': 'high', 'ct.log_misbehaviour': 'high', 'certificate.expired': 'critical', 'renewal.failed': 'high',
  'deployment.failed': 'medium', 'deployment.rolled_back': 'medium', 'certificate.revoked': 'medium', 'request.rejected': 'low', 'request.pending_approval': 'low',
  'certificate.changed': 'low', 'token.created': 'low', 'token.revoked': 'medium', 'target.registered': 'medium', 'target.removed': 'medium', 'config.changed': 'medium', 'config.change_proposed': 'low', 'config.change_rejected': 'low',
  'certificate.adopted': 'medium', 'certificate.targets_attached': 'medium', 'ct.watchlist_changed': 'low', 'ct.log_added': 'low', 'ct.log_changed': 'low',
};

/** How much an event matters to a SOC: its own severity where it carries one, else by type. */
export function severityOf(event: BusEvent): Severity {
  const own = event.detail.severity;
  if (typeof own === 'string' && (SEVERITY_ORDER as string[]).includes(own)) return own as Severity;
  if (event.detailType === 'certificate.expiring') return Number(event.detail.threshold) <= 7 ? 'high' : 'medium';
  return BY_TYPE[event.detailType] ?? 'info';
}

export function atLeast(severity: Severity, minimum: Severity): boolean {
  return SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(minimum);
}
