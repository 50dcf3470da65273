import type { BusEvent } from '../../../shared/events/envelope.ts';
import { severityOf } from './severity.ts';
import { withoutSecrets } from './seed.ts';

const CEF_SEVERITY = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** CEF header fields escape backslash and pipe. */
const header = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
/** CEF extension values escape backslash, equals and line breaks. */
const value = (s: string) => s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r?\n/g, '\\n').replace(/\r/g, '\\r');

/** ArcSight Common Event Format, with certops fields in the standard and custom string keys. */
export function cefLine(event: BusEvent): string {
  const d = withoutSecrets(event.detail);
  const ext: [string, unknown][] = [
    ['rt', Date.parse(String(d.occurredAt))],
    ['externalId', d.eventId],
    ['cs1Label', 'certificateId'], ['cs1', d.certificateId],
    ['cs2Label', 'subject'], ['cs2', d.subject],
    ['cs3Label', 'serialNumber'], ['cs3', d.serialNumber],
    ['cs4Label', 'issuer'], ['cs4', d.issuer],
    ['cs5Label', 'notAfter'], ['cs5', d.notAfter],
    ['cs6Label', 'target'], ['cs6', d.target ?? (Array.isArray(d.targets) ? d.targets.join(',') : undefined)],
    ['dhost', d.host], ['dpt', d.port],
    ['reason', d.reason ?? d.cause ?? d.message],
    ['fileHash', d.fingerprintSha256],
  ];
  const extensions = ext.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => `${k}=${value(String(v))}`).join(' ');
  return `CEF:0|certops|certops|1.0|${header(event.detailType)}|${header(event.detailType.replace(/[._]/g, ' '))}|${CEF_SEVERITY[severityOf(event)]}|${extensions}`;
}
