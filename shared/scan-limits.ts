import { BlockList, isIP } from 'node:net';
import { ForbiddenError, TooManyRequestsError, ValidationError } from './errors.ts';
import { isUnder } from './names.ts';
import type { ScanEndpoint } from './scan-targets.ts';

/** What a caller below admin may scan (inventory.scanLimits); admins are not limited. */
export interface ScanLimits {
  /** Endpoints (address × port) in one scan. */
  maxAddresses: number;
  /** Scans of one caller running at once. */
  maxConcurrentScans: number;
  /** IPv4 and IPv6 ranges (CIDR) addresses must lie in; none: no address may be scanned. */
  allowedRanges: string[];
  /** Domains host names must be under; none: no host name may be scanned. */
  allowedDomains: string[];
  allowedPorts: number[];
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { maxAddresses: 256, maxConcurrentScans: 2, allowedRanges: [], allowedDomains: [], allowedPorts: [443] };

/** A CIDR range as BlockList takes it; ValidationError naming `field` when it is not one. */
function addRange(list: BlockList, cidr: string, field: string): void {
  const [address, bits] = cidr.split('/');
  const family = isIP(address);
  const prefix = Number(bits);
  if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new ValidationError(`${field}: ${cidr} is not a CIDR range`, field);
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

/** Reads `inventory.scanLimits`; ValidationError names the field. */
export function parseScanLimits(value: unknown): ScanLimits {
  if (value === undefined) return DEFAULT_SCAN_LIMITS;
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('inventory.scanLimits must be a mapping', 'inventory.scanLimits');
  const v = value as Record<string, unknown>;
  const count = (k: 'maxAddresses' | 'maxConcurrentScans') => {
    const n = v[k] ?? DEFAULT_SCAN_LIMITS[k];
    if (!Number.isInteger(n) || (n as number) < 1) throw new ValidationError(`inventory.scanLimits.${k} must be a positive whole number`, `inventory.scanLimits.${k}`);
    return n as number;
  };
  const strings = (k: 'allowedRanges' | 'allowedDomains') => {
    const list = v[k] ?? [];
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw new ValidationError(`inventory.scanLimits.${k} must be a list`, `inventory.scanLimits.${k}`);
    return list as string[];
  };
  const ports = v.allowedPorts ?? DEFAULT_SCAN_LIMITS.allowedPorts;
  if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new ValidationError('inventory.scanLimits.allowedPorts must list ports', 'inventory.scanLimits.allowedPorts');
  const allowedRanges = strings('allowedRanges');
  allowedRanges.forEach((r) => addRange(new BlockList(), r, 'inventory.scanLimits.allowedRanges'));
  return { maxAddresses: count('maxAddresses'), maxConcurrentScans: count('maxConcurrentScans'), allowedRanges, allowedDomains: strings('allowedDomains').map((d) => d.toLowerCase().replace(/^\./, '')), allowedPorts: ports as number[] };
}

/**
 * Refuses a scan a caller below admin may not run: a target outside the allowed ranges, domains
 * or ports (ForbiddenError, 403), or more endpoints than one scan may hold (TooManyRequestsError,
 * 429, try again after `retryAfterSeconds`). How many run at once is held by scan slots (see
 * scanSlot), so that parallel requests cannot all pass a count.
 */
export function checkScanTargets(endpoints: ScanEndpoint[], limits: ScanLimits, retryAfterSeconds: number): void {
  const ranges = new BlockList();
  limits.allowedRanges.forEach((r) => addRange(ranges, r, 'inventory.scanLimits.allowedRanges'));
  for (const e of endpoints) {
    const family = isIP(e.host);
    if (family ? !ranges.check(e.host, family === 4 ? 'ipv4' : 'ipv6') : !limits.allowedDomains.some((d) => isUnder(e.host, d))) {
      throw new ForbiddenError(`targets: ${e.host} is outside what you may scan (inventory.scanLimits)`, 'targets');
    }
    if (!limits.allowedPorts.includes(e.port)) throw new ForbiddenError(`ports: ${e.port} is not a port you may scan (allowed: ${limits.allowedPorts.join(', ')})`, 'ports');
  }
  if (endpoints.length > limits.maxAddresses) {
    throw new TooManyRequestsError(`targets: ${endpoints.length} endpoints, at most ${limits.maxAddresses} in one scan (inventory.scanLimits.maxAddresses); split it, or ask an admin`, 'targets', retryAfterSeconds);
  }
}

/** The lock names of a caller's scan slots: one per scan it may run at once. */
export function scanSlots(caller: string, limits: ScanLimits): string[] {
  return Array.from({ length: limits.maxConcurrentScans }, (_, i) => `scan-slot/${caller}/${i}`);
}
