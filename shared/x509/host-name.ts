import { isIP } from 'node:net';
import type { ParsedCertificate } from './parse-certificate.ts';

/** Canonical text for an IP address (so 2001:DB8::1 and 2001:db8:0:0:0:0:0:1 compare equal). */
function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip;
}

/** RFC 6125: a wildcard matches exactly one label, and only as the whole left-most label. */
export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const rest = p.slice(2);
  if (rest.includes('*') || !rest.includes('.')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === rest;
}

/**
 * Whether the certificate is valid for `host` (RFC 9525 6.3): IP addresses only against IP SANs,
 * names against DNS SANs. The subject CN is never a host name (RFC 9525 6.4.4; as browsers do), so a
 * certificate without subjectAltNames matches no host.
 */
export function matchesHost(cert: ParsedCertificate, host: string): boolean {
  const { dns, ip } = cert.extensions.san;
  if (isIP(host)) return ip.some((a) => !a.includes('/') && canonicalIp(a) === canonicalIp(host));
  return dns.some((d) => dnsNameMatches(d, host));
}
