import { ValidationError } from '../errors.ts';

export interface LogListEntry {
  description: string;
  url: string;
  key: string;
  kind: 'rfc6962' | 'static';
}

/** A log the list names that certops does not watch, and why. */
export interface SkippedLog {
  description: string;
  url: string;
  reason: string;
}

/**
 * The logs of a log list in Google's v3 JSON format (operators → logs, and tiled_logs at their
 * monitoring_url for the static CT API, c2sp.org/static-ct-api): the usable and qualified ones;
 * the others (pending, retired, rejected, read-only) are returned as skipped, with their state.
 */
export function readLogList(json: unknown): { logs: LogListEntry[]; skipped: SkippedLog[] } {
  const operators = (json as { operators?: unknown[] } | undefined)?.operators;
  if (!Array.isArray(operators)) throw new ValidationError('the log list has no operators (is it Google\'s v3 format?)', 'logList');
  const out: { logs: LogListEntry[]; skipped: SkippedLog[] } = { logs: [], skipped: [] };
  for (const op of operators) {
    const o = op as { logs?: Record<string, unknown>[]; tiled_logs?: Record<string, unknown>[] };
    const entries = [
      ...(o.logs ?? []).map((l) => ({ l, url: l.url, kind: 'rfc6962' as const })),
      ...(o.tiled_logs ?? []).map((l) => ({ l, url: l.monitoring_url, kind: 'static' as const })),
    ];
    for (const { l, url, kind } of entries) {
      const description = String(l.description ?? url);
      const state = l.state as Record<string, unknown> | undefined;
      const stateName = state ? Object.keys(state)[0] : undefined;
      if (typeof url !== 'string' || typeof l.key !== 'string') out.skipped.push({ description, url: String(url ?? ''), reason: kind === 'static' ? 'no monitoring_url or key' : 'no url or key' });
      else if (state && !('usable' in state) && !('qualified' in state)) out.skipped.push({ description, url, reason: `its state is ${stateName}` });
      else out.logs.push({ description, url, key: l.key, kind });
    }
  }
  return out;
}
