import type { Finding, StoredCertificate } from '../../shared/model.ts';
import { certificateFindings } from '../../shared/findings/certificate-findings.ts';

const DAY_MS = 86_400_000;
const WEEKS = 13;
const MONTHS_AFTER = 12;
const SEVERITIES: Finding['severity'][] = ['critical', 'high', 'medium', 'low', 'info'];

const live = (c: StoredCertificate) => c.status === 'active' || c.status === 'discovered';
/** Items per key, as an object whose own keys are the keys (a key named __proto__ included). */
function count<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out = new Map<string, number>();
  for (const t of items) out.set(key(t), (out.get(key(t)) ?? 0) + 1);
  return Object.fromEntries(out);
}

export interface InventoryRow {
  id: string;
  commonName: string;
  names: string;
  status: string;
  source: string;
  environment: string;
  owner: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  daysToExpiry: number;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  fingerprintSha256: string;
  findings: string;
  worstSeverity: string;
}

/** One row per certificate, findings as of `now`; the columns of the CSV and the items of the JSON report. */
export function inventoryRows(certs: StoredCertificate[], now: Date): InventoryRow[] {
  return certs.map((c) => {
    const findings = certificateFindings(c, { now, tlsServer: c.profile === 'tls-server' });
    return {
      id: c.id, commonName: c.commonName ?? '', names: c.subjectAlternativeNames.join(' '), status: c.status, source: c.source,
      environment: c.environment ?? '', owner: c.owner ?? '', issuer: c.issuer, serialNumber: c.serialNumber,
      notBefore: c.notBefore, notAfter: c.notAfter, daysToExpiry: Math.floor((Date.parse(c.notAfter) - now.getTime()) / DAY_MS),
      keyAlgorithm: c.keyAlgorithm, signatureAlgorithm: c.signatureAlgorithm, fingerprintSha256: c.fingerprintSha256,
      findings: findings.map((f) => f.id).join(' '), worstSeverity: SEVERITIES.find((s) => findings.some((f) => f.severity === s)) ?? '',
    };
  });
}

/** The inventory report: every certificate, and how they split by status, issuing CA, environment and open findings. */
export function inventoryReport(certs: StoredCertificate[], now: Date) {
  const rows = inventoryRows(certs, now);
  const findings = certs.filter(live).flatMap((c) => certificateFindings(c, { now, tlsServer: c.profile === 'tls-server' }));
  return {
    generatedAt: now.toISOString(),
    total: certs.length,
    byStatus: count(certs, (c) => c.status),
    // The breakdowns of what is in use (active or discovered): each adds up to liveTotal.
    liveTotal: certs.filter(live).length,
    byIssuer: count(certs.filter(live), (c) => c.issuer),
    byEnvironment: count(certs.filter(live), (c) => c.environment ?? '(none)'),
    byOwner: count(certs.filter(live), (c) => c.owner ?? '(none)'),
    openFindingsBySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, findings.filter((f) => f.severity === s).length])),
    certificates: rows,
  };
}

/**
 * When live certificates expire: already expired, then week by week for 13 weeks, then month by
 * month for a year; each bucket with its count and the certificates in it.
 */
export function expiryReport(certs: StoredCertificate[], now: Date) {
  const alive = certs.filter(live).map((c) => ({ c, at: Date.parse(c.notAfter) }));
  const bucket = (from: number, to: number) => {
    const inside = alive.filter((x) => x.at >= from && x.at < to);
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), count: inside.length, certificates: inside.map((x) => ({ id: x.c.id, commonName: x.c.commonName, notAfter: x.c.notAfter, owner: x.c.owner, environment: x.c.environment })) };
  };
  const start = now.getTime();
  const weeks = Array.from({ length: WEEKS }, (_, i) => ({ week: i + 1, ...bucket(start + i * 7 * DAY_MS, start + (i + 1) * 7 * DAY_MS) }));
  const monthsFrom = new Date(start + WEEKS * 7 * DAY_MS);
  const months = Array.from({ length: MONTHS_AFTER }, (_, i) => {
    const from = i === 0 ? monthsFrom.getTime() : Date.UTC(monthsFrom.getUTCFullYear(), monthsFrom.getUTCMonth() + i, 1);
    const to = Date.UTC(monthsFrom.getUTCFullYear(), monthsFrom.getUTCMonth() + i + 1, 1);
    return { month: new Date(to - 1).toISOString().slice(0, 7), ...bucket(from, to) };
  });
  // Everything past its notAfter and not replaced: what the sweep marked expired, and what expired since it last ran.
  const expired = certs.filter((c) => (c.status === 'expired' || live(c)) && Date.parse(c.notAfter) < start);
  return { generatedAt: now.toISOString(), expired: { count: expired.length, certificates: expired.map((c) => ({ id: c.id, commonName: c.commonName, notAfter: c.notAfter, owner: c.owner, environment: c.environment })) }, weeks, months };
}

/** RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled; a leading formula character is neutralised. */
export function toCsv<T extends object>(rows: T[], columns: (keyof T & string)[]): string {
  const cell = (v: unknown) => {
    let s = v === undefined || v === null ? '' : String(v);
    if (/^[=+\-@]/.test(s) && typeof v === 'string') s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

export const INVENTORY_COLUMNS: (keyof InventoryRow)[] = ['id', 'commonName', 'names', 'status', 'source', 'environment', 'owner', 'issuer', 'serialNumber', 'notBefore', 'notAfter', 'daysToExpiry', 'keyAlgorithm', 'signatureAlgorithm', 'fingerprintSha256', 'findings', 'worstSeverity'];
