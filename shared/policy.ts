import { BlockList, isIP } from 'node:net';
import { ValidationError } from './errors.ts';
import { covers, isUnder, normaliseName } from './names.ts';
import { KEY_ALGORITHMS } from './x509/keys.ts';

/** One policy rule; the first rule whose environment and profile match a request decides it. */
export interface PolicyRule {
  environment?: string;
  profile?: 'tls-server' | 'tls-client';
  /** Suffixes names must be under (subdomains included). */
  allowedDomains: string[];
  deniedNames: string[];
  allowWildcards: boolean;
  /** true, false, or 'private': loopback and RFC 1918 addresses only. */
  allowIpAddresses: boolean | 'private';
  maxNames: number;
  keyTypes: string[];
  maxValidityDays: number;
  ownerRequired: boolean;
  /** What happens to a request outside the allowed names: an approver may let it through, or it is denied. */
  approval: 'allowed' | 'never';
}

export interface Policy {
  rules: PolicyRule[];
  /** Pending requests not decided within this many hours are rejected as expired. */
  approvalTimeoutHours: number;
  /** The environment of a request that names none and whose names no ownership rule places. */
  defaultEnvironment?: string;
}

/** The request as policy sees it. */
export interface PolicyRequest {
  names: string[];
  keyAlgorithm: string;
  validityDays: number;
  profile: 'tls-server' | 'tls-client';
  environment?: string;
  owner?: string;
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'needs_approval';
  reasons: string[];
}

/** Names a fresh install issues without configuration: the reserved example domains (RFC 2606, RFC 6761). */
export const RESERVED_DOMAINS = ['example.com', 'example.net', 'example.org', 'test', 'localhost'];

const DEFAULT_RULE: PolicyRule = {
  allowedDomains: RESERVED_DOMAINS, deniedNames: [], allowWildcards: true, allowIpAddresses: 'private', maxNames: 100,
  keyTypes: [...KEY_ALGORITHMS], maxValidityDays: 398, ownerRequired: false, approval: 'allowed',
};

export const DEFAULT_POLICY: Policy = { rules: [DEFAULT_RULE], approvalTimeoutHours: 72 };

/** Private (RFC 1918, RFC 4193) and loopback addresses, matched by their bits, not their text. */
const PRIVATE = new BlockList();
for (const [net, bits] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['127.0.0.0', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['fc00::', 7], ['::1', 128]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');
const isPrivate = (ip: string) => PRIVATE.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');

/** The rule that decides requests of this environment and profile: the first that matches, in configured order. */
export function ruleFor(policy: Policy, environment: string | undefined, profile: PolicyRequest['profile']): PolicyRule | undefined {
  return policy.rules.find((r) => (!r.environment || r.environment === environment) && (!r.profile || r.profile === profile));
}

/** Decides a request: hard limits deny; names outside the allowed ones need an approver (or are denied when the rule says never). */
export function evaluatePolicy(policy: Policy, req: PolicyRequest): Verdict {
  const rule = ruleFor(policy, req.environment, req.profile);
  if (!rule) return { decision: 'deny', reasons: [`no policy rule covers environment ${req.environment ?? '(none)'} and profile ${req.profile}`] };
  const hard: string[] = [];
  const soft: string[] = [];
  for (const name of req.names) {
    const bare = name.replace(/^\*\./, '');
    // A wildcard is denied when a name it would be good for is (`*.example.com` covers secret.example.com).
    if (rule.deniedNames.some((d) => (d.startsWith('.') ? isUnder(bare, d.slice(1)) || covers(name, d.slice(1)) : d === name || covers(name, d)))) hard.push(`${name} is a denied name`);
    else if (isIP(name)) {
      if (rule.allowIpAddresses === false) soft.push(`${name}: IP addresses are not allowed`);
      else if (rule.allowIpAddresses === 'private' && !isPrivate(name)) soft.push(`${name} is not a private or loopback address`);
    } else {
      if (name.startsWith('*.') && !rule.allowWildcards) soft.push(`${name}: wildcards are not allowed`);
      if (!rule.allowedDomains.some((d) => isUnder(bare, d))) soft.push(`${name} is outside the allowed domains (${rule.allowedDomains.join(', ')})`);
    }
  }
  if (req.names.length > rule.maxNames) hard.push(`${req.names.length} names requested, at most ${rule.maxNames} allowed`);
  if (!rule.keyTypes.includes(req.keyAlgorithm)) hard.push(`key ${req.keyAlgorithm} is not allowed (allowed: ${rule.keyTypes.join(', ')})`);
  if (req.validityDays > rule.maxValidityDays) hard.push(`validity of ${req.validityDays} days is over the ${rule.maxValidityDays} allowed`);
  if (rule.ownerRequired && !req.owner) hard.push('an owner is required');
  if (hard.length) return { decision: 'deny', reasons: [...hard, ...soft] };
  if (soft.length) return { decision: rule.approval === 'allowed' ? 'needs_approval' : 'deny', reasons: soft };
  return { decision: 'allow', reasons: [] };
}

/** Reads the `policy` section of the suite configuration; `at(field)` says where a field is in the file. */
export function parsePolicy(value: unknown, at: (field: string) => string): Policy {
  if (value === undefined) return DEFAULT_POLICY;
  const fail = (field: string, message: string): never => {
    throw new ValidationError(`${at(field)}: ${field} ${message}`, field);
  };
  if (!value || typeof value !== 'object') fail('policy', 'must be a mapping');
  const p = value as Record<string, unknown>;
  const timeout = p.approvalTimeoutHours ?? 72;
  if (typeof timeout !== 'number' || timeout <= 0) fail('policy.approvalTimeoutHours', 'must be a positive number');
  for (const k of Object.keys(p)) if (!['rules', 'approvalTimeoutHours', 'defaultEnvironment'].includes(k)) fail(`policy.${k}`, 'is not a policy setting (known: rules, approvalTimeoutHours, defaultEnvironment)');
  if (p.defaultEnvironment !== undefined && (typeof p.defaultEnvironment !== 'string' || !p.defaultEnvironment)) fail('policy.defaultEnvironment', 'must be an environment name');
  if (!Array.isArray(p.rules) || p.rules.length === 0) fail('policy.rules', 'must be a non-empty list');
  const rules = (p.rules as unknown[]).map((raw, i): PolicyRule => {
    const field = (f: string) => `policy.rules.${i}.${f}`;
    if (!raw || typeof raw !== 'object') fail(`policy.rules.${i}`, 'must be a mapping');
    const r = raw as Record<string, unknown>;
    const known = ['environment', 'profile', 'allowedDomains', 'deniedNames', 'allowWildcards', 'allowIpAddresses', 'maxNames', 'keyTypes', 'maxValidityDays', 'ownerRequired', 'approval'];
    for (const k of Object.keys(r)) if (!known.includes(k)) fail(field(k), `is not a policy setting (known: ${known.join(', ')})`);
    const strings = (k: string, fallback: string[]) => {
      const v = r[k] ?? fallback;
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) fail(field(k), 'must be a list of strings');
      return v as string[];
    };
    const bool = (k: string, fallback: boolean) => {
      const v = r[k] ?? fallback;
      if (typeof v !== 'boolean') fail(field(k), 'must be true or false');
      return v as boolean;
    };
    const int = (k: string, fallback: number) => {
      const v = r[k] ?? fallback;
      if (!Number.isInteger(v) || (v as number) < 1) fail(field(k), 'must be a positive whole number');
      return v as number;
    };
    if (r.profile !== undefined && r.profile !== 'tls-server' && r.profile !== 'tls-client') fail(field('profile'), 'must be tls-server or tls-client');
    if (r.allowIpAddresses !== undefined && ![true, false, 'private'].includes(r.allowIpAddresses as never)) fail(field('allowIpAddresses'), 'must be true, false or private');
    if (r.approval !== undefined && r.approval !== 'allowed' && r.approval !== 'never') fail(field('approval'), 'must be allowed or never');
    const keyTypes = strings('keyTypes', [...KEY_ALGORITHMS]);
    for (const k of keyTypes) if (!(KEY_ALGORITHMS as readonly string[]).includes(k)) fail(field('keyTypes'), `has ${k}; known: ${KEY_ALGORITHMS.join(', ')}`);
    const domains = strings('allowedDomains', []).map((d) => {
      try {
        return normaliseName(d.replace(/^\./, ''), field('allowedDomains'));
      } catch {
        return fail(field('allowedDomains'), `has ${JSON.stringify(d)}, which is not a domain`);
      }
    });
    return {
      environment: typeof r.environment === 'string' ? r.environment : undefined,
      profile: r.profile as PolicyRule['profile'],
      allowedDomains: domains,
      deniedNames: strings('deniedNames', []).map((d) => (isIP(d) ? normaliseName(d, field('deniedNames')) : d.toLowerCase())),
      allowWildcards: bool('allowWildcards', false),
      allowIpAddresses: (r.allowIpAddresses as PolicyRule['allowIpAddresses']) ?? false,
      maxNames: int('maxNames', 100),
      keyTypes,
      maxValidityDays: int('maxValidityDays', 398),
      ownerRequired: bool('ownerRequired', false),
      approval: (r.approval as PolicyRule['approval']) ?? 'allowed',
    };
  });
  return { rules, approvalTimeoutHours: timeout as number, ...(p.defaultEnvironment ? { defaultEnvironment: p.defaultEnvironment as string } : {}) };
}
