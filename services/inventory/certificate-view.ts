import { renewalDue, renewedByCertops, type RenewalWindow } from '../../shared/renewal-window.ts';
import { certificateFindings } from '../../shared/findings/certificate-findings.ts';
import type { Endpoint, Finding, HistoryEntry, StoredCertificate } from '../../shared/model.ts';
import { knownRevocation } from '../../shared/revocation/inventory-revocation.ts';

const SEVERITY_ORDER = ['critical', 'high', 'medium', 'low', 'info'];

const dueView = (due: ReturnType<typeof renewalDue>) => ({ renewalDueAt: due.at.toISOString(), renewalDueSource: due.source });

/**
 * A certificate as the API shows it: findings computed as of `now` (they change with time) plus
 * those its endpoints raised, most severe first. The vault reference is internal and stays out.
 */
export function certificateView(c: StoredCertificate, now: Date, endpoints: Endpoint[] = [], history: HistoryEntry[] = [], renewalWindow?: RenewalWindow) {
  const { keyRef, ...view } = c;
  const own = certificateFindings(c, { now, tlsServer: endpoints.length > 0 || c.profile === 'tls-server' });
  const served: Finding[] = endpoints.flatMap((e) => e.findings.map((f) => ({ ...f, id: `${f.id}@${e.host}:${e.port}` })));
  const findings = [...own, ...served].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  return {
    ...view,
    hasManagedKey: Boolean(keyRef),
    // When the renewal sweep will renew it (shared/renewal-window.ts), for what certops renews, and whose word that is.
    ...(renewalWindow && c.status === 'active' && renewedByCertops(c) ? dueView(renewalDue(c, renewalWindow)) : {}),
    revocation: knownRevocation(c),
    findings,
    endpoints: endpoints.map(({ host, port, lastSeen, protocol, cipher }) => ({ host, port, lastSeen, protocol, cipher })),
    history,
    deployments: history.filter((h) => h.kind === 'deployment'),
  };
}
