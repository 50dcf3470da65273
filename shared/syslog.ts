import { hostname } from 'node:os';

/** RFC 5424 severities (0 emergency .. 7 debug) for certops severities. */
const SYSLOG_SEVERITY = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
const FACILITY_LOCAL0 = 16;

/** An RFC 5424 message: <PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG. */
export function syslogMessage(record: { timestamp: string; severity: keyof typeof SYSLOG_SEVERITY; msgId: string; message: string }, appName = 'certops', host = hostname()): string {
  const pri = FACILITY_LOCAL0 * 8 + SYSLOG_SEVERITY[record.severity];
  const field = (s: string, max: number) => (s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-');
  return `<${pri}>1 ${record.timestamp} ${field(host, 255)} ${field(appName, 48)} ${process.pid} ${field(record.msgId, 32)} - ${record.message}`;
}

/** RFC 6587 octet counting: the byte length, a space, the message; no delimiter can be confused with content. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}
