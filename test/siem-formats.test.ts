import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../shared/events/envelope.ts';
import { cefLine } from '../services/siem-export/formats/cef.ts';
import { ecsRecord } from '../services/siem-export/formats/ecs.ts';
import { ocsfRecord } from '../services/siem-export/formats/ocsf.ts';
import { seedRecord } from '../services/siem-export/formats/seed.ts';
import { hecEvent } from '../services/siem-export/formats/splunk-hec.ts';
import { formatForSink } from '../services/siem-export/format-event.ts';
import { octetCounted } from '../shared/syslog.ts';
import { ROOT } from './support/processes.ts';

const examples: BusEvent[] = readdirSync(join(ROOT, 'events/examples')).map((f) => {
  const e = JSON.parse(readFileSync(join(ROOT, 'events/examples', f), 'utf8'));
  return { source: e.source, detailType: e['detail-type'], detail: { ...e.detail, eventId: 'e-1', occurredAt: '2026-11-26T12:00:00.000Z', correlationId: 'c' } };
});
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const leaky = (e: BusEvent): BusEvent => ({ ...e, detail: { ...e.detail, privateKeyPem: KEY, note: KEY, hecToken: 'secret-token-value' } });

describe('SIEM formats, field by field', () => {
  it.each(examples.map((e) => [e.detailType, e] as const))('seed: %s', (_t, e) => {
    const r = seedRecord(e);
    for (const f of ['timestamp', 'event_type', 'certificate_subject', 'certificate_serial', 'issuer', 'expiration_date', 'deployment_status', 'target_systems', 'eventId']) expect(r).toHaveProperty(f);
    expect(r.event_type).toBe(e.detailType);
  });

  it('seed: a renewal says it deployed only when it had targets, and failed a deployment only past its lock and renew steps', () => {
    const renewal = (type: string, fields: Record<string, unknown>): BusEvent => ({ source: 'certops.renewal', detailType: type, detail: { eventId: 'e', occurredAt: '2026-11-26T12:00:00.000Z', correlationId: 'c', certificateId: 'c1', ...fields } });
    expect(seedRecord(renewal('renewal.succeeded', { targets: ['web-01'] })).deployment_status).toBe('deployed');
    expect(seedRecord(renewal('renewal.succeeded', { targets: [] })).deployment_status).toBeNull();
    expect(seedRecord(renewal('renewal.failed', { step: 'verify' })).deployment_status).toBe('failed');
    expect(seedRecord(renewal('renewal.failed', { step: 'lock' })).deployment_status).toBeNull();
  });

  it.each(examples.map((e) => [e.detailType, e] as const))('ECS: %s', (_t, e) => {
    const r = ecsRecord(e) as any;
    expect(r['@timestamp']).toBe(e.detail.occurredAt);
    expect(r.ecs.version).toMatch(/^8\./);
    expect(['event', 'alert']).toContain(r.event.kind);
    expect(r.event.category.every((c: string) => ['configuration', 'intrusion_detection'].includes(c))).toBe(true);
    expect(r.event.type.every((t: string) => ['creation', 'change', 'deletion', 'info'].includes(t))).toBe(true);
    expect(r.event.action).toBe(e.detailType);
    expect(['success', 'failure', 'unknown']).toContain(r.event.outcome);
    expect(r.event.id).toBe('e-1');
    if (e.detail.serialNumber) expect(r.x509.serial_number).toMatch(/^[0-9A-F]+$/);
  });

  it('ECS marks failures and alerts', () => {
    const failed = ecsRecord(examples.find((e) => e.detailType === 'renewal.failed')!) as any;
    expect(failed.event.outcome).toBe('failure');
    const unauthorized = ecsRecord(examples.find((e) => e.detailType === 'ct.unauthorized_certificate')!) as any;
    expect(unauthorized.event).toMatchObject({ kind: 'alert', category: ['intrusion_detection'] });
  });

  it.each(examples.map((e) => [e.detailType, e] as const))('OCSF: %s fills every attribute its class requires', (_t, e) => {
    const r = ocsfRecord(e) as any;
    const common = ['activity_id', 'category_uid', 'class_uid', 'metadata', 'severity_id', 'time', 'type_uid'];
    for (const f of common) expect(r[f], f).toBeDefined();
    expect(r.type_uid).toBe(r.class_uid * 100 + r.activity_id);
    expect(r.metadata.product).toMatchObject({ name: 'certops', vendor_name: 'certops' });
    expect(r.metadata.version).toMatch(/^1\./);
    expect(Number.isInteger(r.time)).toBe(true);
    expect(r.severity_id).toBeGreaterThanOrEqual(1);
    expect(r.severity_id).toBeLessThanOrEqual(5);
    if (r.class_uid === 2004) {
      expect(r.category_uid).toBe(2);
      expect(r.finding_info.uid).toBeTruthy();
      expect(r.finding_info.title).toBeTruthy();
    } else {
      expect(r).toMatchObject({ class_uid: 3004, category_uid: 3 });
      expect(r.entity.name).toBeTruthy();
      expect(r.entity.uid).toBeTruthy();
    }
  });

  it('OCSF: CT findings are Detection Findings with high severity', () => {
    const r = ocsfRecord(examples.find((e) => e.detailType === 'ct.unauthorized_certificate')!) as any;
    expect(r).toMatchObject({ class_uid: 2004, class_name: 'Detection Finding', severity_id: 4, activity_id: 1 });
    expect(ocsfRecord(examples.find((e) => e.detailType === 'certificate.issued')!)).toMatchObject({ class_uid: 3004, activity_id: 1 });
    expect(ocsfRecord(examples.find((e) => e.detailType === 'certificate.revoked')!)).toMatchObject({ class_uid: 3004, activity_id: 4 });
  });

  it('CEF: seven header fields, escaping of header and extension values', () => {
    for (const e of examples) expect(cefLine(e).split(/(?<!\\)\|/)).toHaveLength(8);
    const tricky: BusEvent = { source: 'certops.deployment', detailType: 'deployment.failed', detail: { eventId: 'x', occurredAt: '2026-11-26T12:00:00Z', correlationId: 'x', target: 'a=b|c\\d', reason: 'line1\nline2', subject: 'CN=a|b' } };
    const line = cefLine(tricky);
    expect(line).toMatch(/^CEF:0\|certops\|certops\|1\.0\|deployment\.failed\|deployment failed\|5\|/);
    expect(line).toContain('cs6=a\\=b|c\\\\d');
    expect(line).toContain('reason=line1\\nline2');
    expect(line).toContain('cs2=CN\\=a|b');
  });

  it('Splunk HEC: the envelope with epoch time and the event', () => {
    const r = hecEvent(examples[0]) as any;
    expect(r.time).toBe(Date.parse('2026-11-26T12:00:00.000Z') / 1000);
    expect(r.sourcetype).toBe('certops:event');
    expect(r.event.event_type).toBe(examples[0].detailType);
  });

  it('never carries private keys or secrets, in any format or framing', () => {
    const sinks = ['seed', 'ecs', 'ocsf', 'cef', 'splunk-hec'].flatMap((format) => (['http', 'syslog', 'file'] as const).map((type) => ({ name: 'x', type, format, eventTypes: [], minSeverity: 'info', batchSize: 1, batchMs: 0, maxAttempts: 1 }) as any));
    for (const e of examples) for (const sink of sinks) {
      const out = formatForSink(sink, leaky(e));
      expect(out).not.toContain('PRIVATE KEY');
      expect(out).not.toContain('MIGHAgEAMBMG');
      expect(out).not.toContain('secret-token-value');
    }
  });

  it('frames syslog with octet counting (RFC 6587)', () => {
    expect(octetCounted('<134>1 x')).toBe('8 <134>1 x');
    expect(octetCounted('é')).toBe('2 é');
    const msg = formatForSink({ name: 's', type: 'syslog', format: 'cef', eventTypes: [], minSeverity: 'info', batchSize: 1, batchMs: 0, maxAttempts: 1 }, examples.find((e) => e.detailType === 'renewal.failed')!);
    expect(msg).toMatch(/^<131>1 2026-11-26T12:00:00.000Z \S+ certops \d+ renewal.failed - CEF:0\|/);
  });
});
