/** One endpoint's result as `GET /scans/{id}` pages it. */
export interface ScannedEndpoint {
  host: string;
  port: number;
  error?: string;
  certificateId?: string;
  subject?: string;
  protocol?: string;
  findings: { id: string; severity: string }[];
  certificateFindings?: { id: string; severity: string }[];
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
/** Endpoints named per certificate row; the rest are counted (`--json` has every one). */
const NAMED_ENDPOINTS = 3;

const address = (e: ScannedEndpoint) => `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * A scan's result as a person reads it, however large the range: one row per certificate found
 * (where it is served, its findings by severity), then the failures counted by cause, so a /16 of
 * mostly silent addresses is a few lines rather than 65,534.
 */
export function scanSummary(endpoints: ScannedEndpoint[]): string[] {
  const byCertificate = new Map<string, ScannedEndpoint[]>();
  const failures = new Map<string, number>();
  for (const e of endpoints) {
    if (e.error || !e.certificateId) failures.set(e.error ?? 'no certificate', (failures.get(e.error ?? 'no certificate') ?? 0) + 1);
    else byCertificate.set(e.certificateId, [...(byCertificate.get(e.certificateId) ?? []), e]);
  }
  const rows = [...byCertificate.entries()].map(([id, served]) => {
    // An endpoint's findings count at each endpoint; the certificate's own repeat at every one and count once.
    const distinct = new Map<string, string>();
    for (const e of served) {
      for (const f of e.findings) distinct.set(`${f.id}@${address(e)}`, f.severity);
      for (const f of e.certificateFindings ?? []) distinct.set(f.id, f.severity);
    }
    const findings = new Map<string, number>();
    for (const severity of distinct.values()) findings.set(severity, (findings.get(severity) ?? 0) + 1);
    const where = served.slice(0, NAMED_ENDPOINTS).map(address).join(', ') + (served.length > NAMED_ENDPOINTS ? ` +${served.length - NAMED_ENDPOINTS} more` : '');
    return [id, (served[0].subject ?? '').slice(0, 48), where, SEVERITIES.filter((s) => findings.has(s)).map((s) => `${findings.get(s)} ${s}`).join(', ') || '-'];
  });
  return [
    ...(rows.length ? table(['certificate', 'subject', 'served at', 'findings'], rows) : ['  no certificate was served']),
    ...(failures.size ? ['  no certificate from:', ...[...failures.entries()].sort((a, b) => b[1] - a[1]).map(([why, n]) => `    ${String(n).padStart(6)}  ${why}`)] : []),
  ];
}
