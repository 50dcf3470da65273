import { canonicalJson } from './canonical-json.ts';

const isMapping = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/**
 * The dotted paths (at most `depth` deep) where two configuration documents differ, sorted:
 * `policy.rules` when any rule changed, `siem` when a whole section appeared or went away.
 */
export function changedPaths(before: unknown, after: unknown, depth = 2, prefix = ''): string[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  if (depth === 0 || !isMapping(before) || !isMapping(after)) return [prefix || '(whole document)'];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.flatMap((k) => changedPaths(before[k], after[k], depth - 1, prefix ? `${prefix}.${k}` : k));
}
