import type { BusEvent } from '../../../shared/events/envelope.ts';
import { seedRecord } from './seed.ts';

/** The Splunk HTTP Event Collector envelope around the seed record. */
export function hecEvent(event: BusEvent): Record<string, unknown> {
  return {
    time: Date.parse(String(event.detail.occurredAt)) / 1000,
    source: event.source,
    sourcetype: 'certops:event',
    event: seedRecord(event),
    fields: { event_type: event.detailType, ...(event.detail.certificateId ? { certificate_id: event.detail.certificateId } : {}) },
  };
}
