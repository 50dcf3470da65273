import { isIP } from 'node:net';
import { ValidationError } from './errors.ts';
import { covers, isUnder } from './names.ts';

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

/**
 * The environment and owner a request is judged under: what it names, else what the ownership
 * rules say of its names, else the default environment. Naming an environment other than the one
 * the rules give its names is refused (a request must not pick a weaker policy rule by naming
 * one), and so are names the rules place in different environments, and an owner other than the
 * one the rules give. ValidationError names the field.
 */
export function resolveOwnership(rules: OwnershipRule[], names: string[], requested: { environment?: string; owner?: string }, defaultEnvironment?: string): { environment?: string; owner?: string } {
  const placed = names.map((n) => ({ name: n, ...ownershipOf(rules, [n], isIP(n) ? n : undefined) }));
  // A wildcard also belongs wherever a name it would be good for is placed (`*.example.com` covers payments.example.com).
  const covered = names.filter((n) => n.startsWith('*.')).flatMap((n) => rules.filter((r) => r.domain && covers(n, r.domain.toLowerCase().replace(/^\./, ''))).map((r) => ({ name: n, environment: r.environment, owner: r.owner })));
  placed.push(...covered);
  const environments = [...new Set(placed.flatMap((p) => (p.environment ? [p.environment] : [])))];
  if (environments.length > 1) {
    throw new ValidationError(`subjectAlternativeNames span environments ${environments.join(' and ')} (inventory.ownership); request them separately`, 'subjectAlternativeNames');
  }
  const [mapped] = environments;
  if (mapped && requested.environment && requested.environment !== mapped) {
    const name = placed.find((p) => p.environment === mapped)!.name;
    throw new ValidationError(`environment: ${name} belongs to ${mapped} (inventory.ownership), not ${requested.environment}`, 'environment');
  }
  const mappedOwner = placed.find((p) => p.owner)?.owner;
  if (mappedOwner && requested.owner && requested.owner !== mappedOwner) {
    throw new ValidationError(`owner: ${placed.find((p) => p.owner)!.name} belongs to ${mappedOwner} (inventory.ownership), not ${requested.owner}`, 'owner');
  }
  return {
    environment: requested.environment ?? mapped ?? defaultEnvironment,
    owner: requested.owner ?? mappedOwner,
  };
}
