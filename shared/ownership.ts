import { isIP } from 'node:net';
import { ValidationError } from './errors.ts';
import { isUnder } from './names.ts';

/** A configured rule: certificates for names under `domain`, or served from `cidr`, belong to this environment and owner. */
export interface OwnershipRule {
  domain?: string;
  cidr?: string;
  environment?: string;
  owner?: string;
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (s: string) => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return isIP(ip) === 4 && ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
}

export function parseOwnershipRules(value: unknown, field = 'inventory.ownership'): OwnershipRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ValidationError(`${field} must be a list`, field);
  return value.map((r, i) => {
    const at = `${field}[${i}]`;
    if (!r || typeof r !== 'object') throw new ValidationError(`${at} must be an object`, at);
    const rule = r as OwnershipRule;
    if (!rule.domain === !rule.cidr) throw new ValidationError(`${at} needs exactly one of domain or cidr`, at);
    if (rule.cidr && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(rule.cidr)) throw new ValidationError(`${at}.cidr must be an IPv4 range like 10.0.0.0/16`, `${at}.cidr`);
    if (!rule.environment && !rule.owner) throw new ValidationError(`${at} sets neither environment nor owner`, at);
    return rule;
  });
}

/** The first rule (in configured order) matching one of the names or the address decides; explicit values win over rules. */
export function ownershipOf(rules: OwnershipRule[], names: string[], address?: string): { environment?: string; owner?: string } {
  const rule = rules.find((r) => (r.domain && names.some((n) => isUnder(n.toLowerCase().replace(/^\*\./, ''), r.domain!.toLowerCase().replace(/^\./, '')))) || (r.cidr && address && inCidr(address, r.cidr)));
  return { environment: rule?.environment, owner: rule?.owner };
}
