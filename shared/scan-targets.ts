import { isIP } from 'node:net';
import { ValidationError } from './errors.ts';
import { normaliseName } from './names.ts';

export interface ScanEndpoint {
  host: string;
  port: number;
  /** The name to send as SNI and check the certificate against; none for bare addresses. */
  serverName?: string;
}

/** Ranges larger than this are refused: a /16 is 65,536 addresses already. */
const MAX_PREFIX = 16;
const MAX_ENDPOINTS = 262_144;

function port(value: string, field: string): number {
  const p = Number(value);
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new ValidationError(`${field}: ${JSON.stringify(value)} is not a port`, field);
  return p;
}

/** The addresses of a range, one at a time (so a caller over its budget stops without making the rest). */
function* expandCidr(cidr: string, field: string): Generator<string> {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(base) !== 4 || !/^\d{1,2}$/.test(bitsText ?? '') || bits > 32) throw new ValidationError(`${field}: ${cidr} is not an IPv4 range`, field);
  if (bits < MAX_PREFIX) throw new ValidationError(`${field}: ${cidr} is larger than a /${MAX_PREFIX}; split it into smaller ranges`, field);
  const start = base.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0) & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
  const size = 2 ** (32 - bits);
  // Network and broadcast addresses serve nothing in ranges of four or more.
  const [first, last] = size >= 4 ? [1, size - 2] : [0, size - 1];
  for (let i = first; i <= last; i++) {
    const n = (start + i) >>> 0;
    yield [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  }
}

/** At most this many targets and ports in one scan request. */
const MAX_TARGETS = 1000;
const MAX_PORTS = 100;

/**
 * Expands scan targets (a host, host:port, an IPv4 or [IPv6] address with or without a port,
 * or an IPv4 CIDR range up to a /16) over the ports, without duplicates. Stops as soon as there
 * are more than `limit` endpoints, with the error `overLimit` makes of the first ones (a
 * ValidationError naming `field` by default), so an oversized request costs no more than the limit.
 */
export function expandTargets(targets: unknown, ports: unknown = [443], field = 'targets', limit = MAX_ENDPOINTS, overLimit?: (limit: number, first: ScanEndpoint[]) => Error): ScanEndpoint[] {
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => typeof t !== 'string' || !t.trim())) {
    throw new ValidationError(`${field} must be a non-empty list of hosts, host:port, addresses or CIDR ranges`, field);
  }
  if (targets.length > MAX_TARGETS) throw new ValidationError(`${field} holds ${targets.length} entries, at most ${MAX_TARGETS}`, field);
  if (!Array.isArray(ports) || ports.length === 0 || ports.length > MAX_PORTS) throw new ValidationError(`ports must be a list of 1 to ${MAX_PORTS} ports`, 'ports');
  const portList = [...new Set(ports.map((p) => port(String(p), 'ports')))];
  const seen = new Set<string>();
  const out: ScanEndpoint[] = [];
  const add = (host: string, p: number, serverName?: string) => {
    const key = `${host}:${p}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ host, port: p, ...(serverName ? { serverName } : {}) });
    if (out.length > limit) throw overLimit?.(limit, out) ?? new ValidationError(`${field} expand to more than ${limit} endpoints`, field);
  };
  for (const raw of new Set((targets as string[]).map((t) => t.trim()))) {
    const t = raw;
    const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(t);
    if (v6) {
      if (isIP(v6[1]) !== 6) throw new ValidationError(`${field}: ${t} is not an IPv6 address`, field);
      for (const p of v6[2] ? [port(v6[2], field)] : portList) add(v6[1], p);
    } else if (t.includes('/')) {
      for (const ip of expandCidr(t, field)) for (const p of portList) add(ip, p);
    } else {
      const m = /^([^:]+)(?::(\d+))?$/.exec(t);
      if (!m) throw new ValidationError(`${field}: ${t.slice(0, 100)} is not a host, host:port, address or range`, field);
      const host = isIP(m[1]) ? m[1] : normaliseName(m[1], field);
      for (const p of m[2] ? [port(m[2], field)] : portList) add(host, p, isIP(host) ? undefined : host);
    }
  }
  return out;
}
