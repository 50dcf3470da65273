import { canonicalJson } from './canonical-json.ts';
import type { ConfigDiffEntry } from './ports.ts';

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

/** The value at a dotted path of a document, or undefined. */
function valueAt(document: unknown, path: string): unknown {
  if (path === '(whole document)') return document;
  return path.split('.').reduce<unknown>((v, k) => (isMapping(v) ? v[k] : undefined), document);
}

/** What changed between two configuration documents: each changed path with its value before and after (a missing side: not there). */
export function configDiff(before: unknown, after: unknown): ConfigDiffEntry[] {
  return changedPaths(before, after).map((path) => {
    const [was, is] = [valueAt(before, path), valueAt(after, path)];
    return { path, ...(was === undefined ? {} : { before: was }), ...(is === undefined ? {} : { after: is }) };
  });
}
