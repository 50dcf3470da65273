import type { CertificateRecord } from '../x509/certificate-record.ts';
import { EVENT_SOURCES, type DetailType } from './catalog.ts';

/** Fields every event's detail carries (CONTRACT.md). */
export interface EventDetail {
  eventId: string;
  occurredAt: string;
  correlationId: string;
  [field: string]: unknown;
}

/** An event as services see it: EventBridge's envelope reduced to what certops uses. */
export interface BusEvent<D extends EventDetail = EventDetail> {
  source: string;
  detailType: string;
  detail: D;
}

/** What a producer needs to stamp an event: ids and time are injected so tests can fix them. */
export interface EventContext {
  now(): Date;
  newId(): string;
  correlationId?: string;
}

export function newEvent(detailType: DetailType, fields: Record<string, unknown>, ctx: EventContext): BusEvent {
  const eventId = ctx.newId();
  return {
    source: EVENT_SOURCES[detailType],
    detailType,
    detail: { ...fields, eventId, occurredAt: ctx.now().toISOString(), correlationId: ctx.correlationId ?? eventId },
  };
}

/** The certificate fields CONTRACT.md requires on every event about a certificate. */
export function certificateFields(c: Pick<CertificateRecord, 'id' | 'subject' | 'serialNumber' | 'issuer' | 'notAfter' | 'fingerprintSha256'>) {
  return {
    certificateId: c.id,
    subject: c.subject,
    serialNumber: c.serialNumber,
    issuer: c.issuer,
    notAfter: c.notAfter,
    fingerprintSha256: c.fingerprintSha256,
  };
}
