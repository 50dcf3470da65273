import { ValidationError } from '../errors.ts';

export interface LogListEntry {
  description: string;
  url: string;
  key: string;
  kind: 'rfc6962' | 'static';
}

/**
 * The logs of a log list in Google's v3 JSON format (operators → logs, and tiled_logs for the
 * static CT API): the usable and qualified ones; retired, rejected and read-only logs are left out.
 */
export function readLogList(json: unknown): LogListEntry[] {
  const operators = (json as { operators?: unknown[] } | undefined)?.operators;
  if (!Array.isArray(operators)) throw new ValidationError('the log list has no operators (is it Google\'s v3 format?)', 'logList');
  const live = (state: Record<string, unknown> | undefined) => !state || 'usable' in state || 'qualified' in state;
  return operators.flatMap((op) => {
    const o = op as { logs?: Record<string, unknown>[]; tiled_logs?: Record<string, unknown>[] };
    return [
      ...(o.logs ?? []).filter((l) => live(l.state as Record<string, unknown>)).map((l) => ({ description: String(l.description ?? l.url), url: String(l.url), key: String(l.key), kind: 'rfc6962' as const })),
      ...(o.tiled_logs ?? []).filter((l) => live(l.state as Record<string, unknown>)).map((l) => ({ description: String(l.description ?? l.monitoring_url), url: String(l.monitoring_url), key: String(l.key), kind: 'static' as const })),
    ];
  });
}
