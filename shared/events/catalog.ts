/** Every detail-type of CONTRACT.md and the source that emits it; events/ holds a schema and an example of each. */
export const EVENT_SOURCES = {
  'certificate.requested': 'external',
  'certificate.issued': 'certops.issuance',
  'request.pending_approval': 'certops.issuance',
  'request.approved': 'certops.issuance',
  'request.rejected': 'certops.issuance',
  'certificate.revoked': 'certops.issuance',
  'certificate.discovered': 'certops.inventory',
  'certificate.changed': 'certops.inventory',
  'scan.requested': 'certops.inventory',
  'scan.chunk_requested': 'certops.inventory',
  'scan.completed': 'certops.inventory',
  'finding.raised': 'certops.inventory',
  'certificate.expiring': 'certops.renewal',
  'certificate.expired': 'certops.renewal',
  'renewal.started': 'certops.renewal',
  'renewal.succeeded': 'certops.renewal',
  'renewal.failed': 'certops.renewal',
  'deployment.succeeded': 'certops.deployment',
  'deployment.failed': 'certops.deployment',
  'deployment.rolled_back': 'certops.deployment',
  'ct.certificate_observed': 'certops.ct-monitor',
  'ct.unauthorized_certificate': 'certops.ct-monitor',
  'ct.log_misbehaviour': 'certops.ct-monitor',
  'token.created': 'certops.inventory',
  'token.revoked': 'certops.inventory',
  'config.changed': 'certops.inventory',
  'config.change_proposed': 'certops.inventory',
  'config.change_rejected': 'certops.inventory',
  'target.registered': 'certops.deployment',
  'target.removed': 'certops.deployment',
  'certificate.targets_attached': 'certops.deployment',
  'certificate.adopted': 'certops.renewal',
  'ct.watchlist_changed': 'certops.ct-monitor',
  'ct.log_added': 'certops.ct-monitor',
  'ct.log_changed': 'certops.ct-monitor',
  'ct.log_poll_requested': 'certops.ct-monitor',
  'siem.sink_failing': 'certops.siem-export',
} as const;

/** What an outside system may put on the bus: everything else is certops' own (CONTRACT.md). */
export const INBOUND_DETAIL_TYPES: readonly string[] = ['certificate.requested'];

export type DetailType = keyof typeof EVENT_SOURCES;
export const DETAIL_TYPES = Object.keys(EVENT_SOURCES) as DetailType[];
