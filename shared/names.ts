import { isIP } from 'node:net';
import { ValidationError } from './errors.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A DNS name (optionally a wildcard) or an IP address, lower-cased, IPv6 in its one canonical
 * text (RFC 5952: fd00:0::1 and fd00::1 are one address); anything else is refused naming `field`.
 */
export function normaliseName(raw: string, field: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  // A zone id (fe80::1%eth0) names an interface of one host: it has no place in a certificate.
  if (isIP(name) === 4) return name;
  if (isIP(name) === 6 && !name.includes('%')) {
    const canonical = new URL(`http://[${name}]`).hostname.slice(1, -1);
    // An IPv4-mapped address (::ffff:10.0.0.1) is the IPv4 address, as clients that dial it see it.
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
    if (!mapped) return canonical;
    const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  const labels = name.split('.');
  const ok = name.length <= 253 && labels.every((l, i) => LABEL.test(l) || (i === 0 && l === '*' && labels.length > 2));
  if (!ok) throw new ValidationError(`${field}: ${JSON.stringify(raw)} is not a DNS name or IP address`, field);
  return name;
}

/** True when `name` is `domain` or one of its subdomains. */
export function isUnder(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`);
}

/**
 * True when a certificate for `name` is good for `host` (RFC 6125): the same name, or `name` is a
 * wildcard `*.D` and `host` is exactly one label under D.
 */
export function covers(name: string, host: string): boolean {
  if (name === host) return true;
  if (!name.startsWith('*.')) return false;
  const parent = name.slice(2);
  return host.endsWith(`.${parent}`) && !host.slice(0, -parent.length - 1).includes('.');
}
