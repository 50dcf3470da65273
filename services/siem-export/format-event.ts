import type { BusEvent } from '../../shared/events/envelope.ts';
import type { SinkConfig } from '../../shared/siem-config.ts';
import { cefLine } from './formats/cef.ts';
import { ecsRecord } from './formats/ecs.ts';
import { ocsfRecord } from './formats/ocsf.ts';
import { seedRecord } from './formats/seed.ts';
import { severityOf } from './formats/severity.ts';
import { hecEvent } from './formats/splunk-hec.ts';
import { syslogMessage } from '../../shared/syslog.ts';

const FORMATS = {
  seed: (e: BusEvent) => JSON.stringify(seedRecord(e)),
  ecs: (e: BusEvent) => JSON.stringify(ecsRecord(e)),
  ocsf: (e: BusEvent) => JSON.stringify(ocsfRecord(e)),
  'splunk-hec': (e: BusEvent) => JSON.stringify(hecEvent(e)),
  cef: (e: BusEvent) => cefLine(e),
};

/** The event as one record for the sink: in its format, and framed as syslog for syslog sinks. */
export function formatForSink(sink: SinkConfig, event: BusEvent): string {
  const record = FORMATS[sink.format](event);
  if (sink.type !== 'syslog') return sink.type === 'http' && sink.format === 'cef' ? JSON.stringify({ cef: record }) : record;
  return syslogMessage({ timestamp: String(event.detail.occurredAt), severity: severityOf(event), msgId: event.detailType, message: record });
}
