import { ValidationError } from './errors.ts';

export const SIEM_FORMATS = ['seed', 'ecs', 'ocsf', 'cef', 'splunk-hec'] as const;
export type SiemFormat = (typeof SIEM_FORMATS)[number];
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;

/** One SIEM destination: where, in which format, which events, and how they are batched and retried. */
export interface SinkConfig {
  name: string;
  type: 'http' | 'syslog' | 'file';
  format: SiemFormat;
  /** Detail-types sent (all when empty) and the least severity sent. */
  eventTypes: string[];
  minSeverity: (typeof SEVERITIES)[number];
  batchSize: number;
  batchMs: number;
  maxAttempts: number;
  /** http */
  url?: string;
  protocol?: 'splunk-hec' | 'elastic-bulk' | 'json';
  index?: string;
  gzip?: boolean;
  /** Where secrets come from (HEC token, syslog client key): `env:NAME` or `secretsmanager:ARN`; never the file or the table. */
  tokenEnv?: string;
  /** syslog */
  host?: string;
  port?: number;
  tls?: boolean;
  caFile?: string;
  clientCertFile?: string;
  clientKeyEnv?: string;
  /** file */
  path?: string;
  maxBytes?: number;
}

/** Where a sink's secret is: an environment variable (env:NAME, or NAME, in capitals) or a Secrets Manager secret. */
/** Where a secret is: an environment variable (env:NAME) or a Secrets Manager secret (secretsmanager:ID), never the secret. */
export const SECRET_REF = /^((env:)?[A-Z_][A-Z0-9_]{0,127}|secretsmanager:[A-Za-z0-9/_+=.@:-]{1,512})$/;

/**
 * The configured sinks (`siem.sinks`); without any, one file sink at `defaultFile`, or none when
 * that is empty (Lambda has no disk worth writing to: the audit trail in the table keeps every event).
 * @param lastingDisk false where the functions' disk does not outlive an invocation: a file sink is refused.
 * @throws ValidationError naming the field.
 */
export function parseSinks(value: unknown, at: (field: string) => string, defaultFile: string, lastingDisk = true): SinkConfig[] {
  const base = { eventTypes: [], minSeverity: 'info' as const, maxAttempts: 10 };
  if (value === undefined && !defaultFile) return [];
  // Whatever is due goes at once (batchMs 0), as one append of up to 100 lines when a burst queued them.
  if (value === undefined) return [{ ...base, name: 'file', type: 'file', format: 'seed', path: defaultFile, batchSize: 100, batchMs: 0 }];
  if (!Array.isArray(value)) throw new ValidationError(`${at('siem.sinks')}: siem.sinks must be a list`, 'siem.sinks');
  return value.map((raw, i) => {
    const field = (f: string) => `siem.sinks.${i}.${f}`;
    const fail = (f: string, message: string): never => {
      throw new ValidationError(`${at(field(f))}: ${field(f)} ${message}`, field(f));
    };
    const r = (raw ?? {}) as Record<string, unknown>;
    if (typeof r.name !== 'string' || !/^[a-z0-9-]+$/.test(r.name)) fail('name', 'must be lower-case letters, digits and dashes');
    if (!['http', 'syslog', 'file'].includes(String(r.type))) fail('type', 'must be http, syslog or file');
    if (r.type === 'file' && !lastingDisk) fail('type', 'cannot be file here: the functions have no disk that outlives an invocation (AWS Lambda); use http or syslog');
    if (!(SIEM_FORMATS as readonly string[]).includes(String(r.format ?? 'seed'))) fail('format', `must be one of ${SIEM_FORMATS.join(', ')}`);
    if (r.minSeverity !== undefined && !(SEVERITIES as readonly string[]).includes(String(r.minSeverity))) fail('minSeverity', `must be one of ${SEVERITIES.join(', ')}`);
    const int = (k: string, fallback: number) => {
      const v = r[k] ?? fallback;
      if (!Number.isInteger(v) || (v as number) < 0) fail(k, 'must be a whole number');
      return v as number;
    };
    const sink: SinkConfig = {
      ...base,
      name: r.name as string,
      type: r.type as SinkConfig['type'],
      format: (r.format ?? 'seed') as SiemFormat,
      eventTypes: Array.isArray(r.eventTypes) ? (r.eventTypes as string[]) : [],
      minSeverity: (r.minSeverity ?? 'info') as SinkConfig['minSeverity'],
      batchSize: Math.max(1, int('batchSize', 100)),
      batchMs: int('batchMs', 2000),
      maxAttempts: Math.max(1, int('maxAttempts', 10)),
    };
    // A secret is named, never written here: the configuration is in the table, its history and the audit trail.
    for (const field of ['token', 'tokenEnv', 'clientKey', 'clientKeyEnv']) {
      if (r[field] !== undefined && !(typeof r[field] === 'string' && SECRET_REF.test(r[field]))) fail(field, 'must name where the secret is (env:NAME or secretsmanager:ID), not hold it');
    }
    if (sink.type === 'http') {
      if (typeof r.url !== 'string' || !/^https?:\/\//.test(r.url)) fail('url', 'must be an http(s) URL');
      if (r.protocol !== undefined && !['splunk-hec', 'elastic-bulk', 'json'].includes(String(r.protocol))) fail('protocol', 'must be splunk-hec, elastic-bulk or json');
      Object.assign(sink, { url: r.url, protocol: r.protocol ?? 'json', index: r.index, gzip: r.gzip !== false, tokenEnv: r.token ?? r.tokenEnv, caFile: r.caFile });
    } else if (sink.type === 'syslog') {
      if (typeof r.host !== 'string') fail('host', 'is required');
      Object.assign(sink, { host: r.host, port: int('port', r.tls ? 6514 : 514), tls: r.tls === true, caFile: r.caFile, clientCertFile: r.clientCertFile, clientKeyEnv: r.clientKey ?? r.clientKeyEnv });
    } else {
      if (typeof r.path !== 'string') fail('path', 'is required');
      Object.assign(sink, { path: r.path, maxBytes: int('maxBytes', 50 * 1024 * 1024) });
    }
    return sink;
  });
}
