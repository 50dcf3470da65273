import { isIPv4 } from 'node:net';

/**
 * EventBridge event-pattern matching, as documented for rules: exact values, arrays as "any of",
 * prefix, suffix, anything-but, numeric, exists, equals-ignore-case, wildcard, cidr, $or, nested
 * fields, and matching against any element of an array in the event.
 */
export type Pattern = Record<string, unknown>;

const MISSING = Symbol('missing');

export function matches(pattern: Pattern, event: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === '$or') return (rule as Pattern[]).some((alt) => matches(alt, event));
    const value = event && typeof event === 'object' && key in (event as object) ? (event as Record<string, unknown>)[key] : MISSING;
    if (Array.isArray(rule)) return matchesLeaf(rule, value);
    if (value === MISSING || value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return matches(rule as Pattern, value);
  });
}

/** An array of matchers against a leaf: true when any matcher accepts the value (or any element of it). */
function matchesLeaf(matchers: unknown[], value: unknown): boolean {
  const values = value === MISSING ? [] : Array.isArray(value) ? value : [value];
  return matchers.some((m) => {
    // Exists applies to leaf values: an empty array holds none, as on EventBridge.
    if (isObject(m) && 'exists' in m) return m.exists ? values.length > 0 : values.length === 0;
    return values.some((v) => matchesOne(m, v));
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matchesOne(matcher: unknown, v: unknown): boolean {
  if (!isObject(matcher)) return matcher === v || (typeof matcher === 'number' && typeof v === 'number' && matcher === v);
  const [op, arg] = Object.entries(matcher)[0] ?? [];
  switch (op) {
    case 'prefix':
      return typeof v === 'string' && textOp(arg, v, (a, b) => b.startsWith(a));
    case 'suffix':
      return typeof v === 'string' && textOp(arg, v, (a, b) => b.endsWith(a));
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof arg === 'string' && arg.toLowerCase() === v.toLowerCase();
    case 'wildcard':
      return typeof v === 'string' && typeof arg === 'string' && wildcard(arg).test(v);
    case 'numeric':
      return typeof v === 'number' && numeric(arg as (string | number)[], v);
    case 'cidr':
      return typeof v === 'string' && typeof arg === 'string' && inCidr(v, arg);
    case 'anything-but':
      return !anythingButExcludes(arg, v);
    default:
      return false;
  }
}

/** prefix/suffix take a string or {"equals-ignore-case": string}. */
function textOp(arg: unknown, v: string, test: (a: string, b: string) => boolean): boolean {
  if (typeof arg === 'string') return test(arg, v);
  if (isObject(arg) && typeof arg['equals-ignore-case'] === 'string') return test(arg['equals-ignore-case'].toLowerCase(), v.toLowerCase());
  return false;
}

function anythingButExcludes(arg: unknown, v: unknown): boolean {
  if (Array.isArray(arg)) return arg.some((a) => matchesOne(a, v));
  if (isObject(arg)) return matchesOne(arg, v);
  return matchesOne(arg, v);
}

function wildcard(glob: string): RegExp {
  const escaped = glob.split(/(\\\*|\*)/).map((part) => (part === '*' ? '.*' : part === '\\*' ? '\\*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${escaped}$`, 's');
}

function numeric(conditions: (string | number)[], v: number): boolean {
  for (let i = 0; i < conditions.length; i += 2) {
    const op = conditions[i];
    const bound = Number(conditions[i + 1]);
    const ok = op === '=' ? v === bound : op === '<' ? v < bound : op === '<=' ? v <= bound : op === '>' ? v > bound : op === '>=' ? v >= bound : false;
    if (!ok) return false;
  }
  return true;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsRaw] = cidr.split('/');
  const bits = Number(bitsRaw);
  if (!isIPv4(ip) || !isIPv4(base) || !(bits >= 0 && bits <= 32)) return false;
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base) / size);
}
