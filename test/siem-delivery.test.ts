import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditTrail } from '../adapters/dynamodb/audit-trail.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoSiemOutbox } from '../adapters/dynamodb/siem-outbox.ts';
import { HttpSink } from '../adapters/siem/http-sink.ts';
import { SyslogSink } from '../adapters/siem/syslog-sink.ts';
import { exportEvent, flushAll, type ExportDeps } from '../services/siem-export/export-event.ts';
import { verifyChain, type AuditRecord } from '../shared/audit-chain.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { SinkConfig } from '../shared/siem-config.ts';
import { freshTable } from './support/dynamo.ts';
import { startHecReceiver } from './support/hec-receiver.ts';
import { makeChain } from './support/pki.ts';
import { startRsyslog } from './support/rsyslog.ts';
import { eventually } from './support/processes.ts';
import { eventSchemaValidator } from '../local/event-schemas.ts';

const TOKEN = 'hec-token-0001';
let n = 0;
let now = Date.UTC(2026, 10, 26, 13);
function event(type = 'certificate.issued', extra: Record<string, unknown> = {}): BusEvent {
  n++;
  return { source: 'certops.issuance', detailType: type, detail: { eventId: `ev-${n}`, occurredAt: new Date(now).toISOString(), correlationId: `c-${n}`, certificateId: `cert-${n % 3}`, subject: `CN=h${n}.example.com`, serialNumber: '0A:0B', issuer: 'CN=CA', notAfter: '2027-01-01T00:00:00.000Z', fingerprintSha256: 'AA', ...extra } };
}

describe('SIEM delivery to real receivers, through outages', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let rsyslog: Awaited<ReturnType<typeof startRsyslog>>;
  let hec: Awaited<ReturnType<typeof startHecReceiver>>;
  let chain: Awaited<ReturnType<typeof makeChain>>;
  const senders = new Map<string, (r: string[]) => Promise<{ ok: boolean; retryAfterMs?: number; error?: string }>>();

  const sinks = (): SinkConfig[] => [
    { name: 'syslog-tcp', type: 'syslog', format: 'cef', host: '127.0.0.1', port: rsyslog.tcpPort, tls: false, eventTypes: [], minSeverity: 'info', batchSize: 1, batchMs: 0, maxAttempts: 5 },
    { name: 'syslog-tls', type: 'syslog', format: 'ocsf', host: '127.0.0.1', port: rsyslog.tlsPort, tls: true, eventTypes: [], minSeverity: 'medium', batchSize: 2, batchMs: 0, maxAttempts: 5 },
    { name: 'hec', type: 'http', protocol: 'splunk-hec', url: hec.url, format: 'splunk-hec', gzip: true, eventTypes: [], minSeverity: 'info', batchSize: 5, batchMs: 60_000, maxAttempts: 4 },
  ];
  let deps: ExportDeps;

  const published: BusEvent[] = [];
  beforeAll(async () => {
    db = await freshTable();
    chain = await makeChain(['127.0.0.1']);
    const tls = { certPem: chain.leaf.pem + chain.intermediate.pem, keyPem: await chain.leaf.keyPem(), caPem: chain.root.pem };
    rsyslog = await startRsyslog(tls);
    hec = await startHecReceiver(tls.certPem, tls.keyPem, TOKEN);
    senders.set('syslog-tcp', (r) => new SyslogSink({ host: '127.0.0.1', port: rsyslog.tcpPort, tls: false, timeoutMs: 5000 }).send(r));
    senders.set('syslog-tls', (r) => new SyslogSink({ host: '127.0.0.1', port: rsyslog.tlsPort, tls: true, caPem: chain.root.pem, timeoutMs: 5000 }).send(r));
    senders.set('hec', (r) => new HttpSink({ url: hec.url, protocol: 'splunk-hec', token: TOKEN, gzip: true, caPem: chain.root.pem, timeoutMs: 2000 }).send(r));
    const clock = { now: () => new Date(now) };
    deps = {
      clock, audit: new DynamoAuditTrail(db.table), locks: new DynamoLockStore(db.table, clock),
      outbox: new DynamoSiemOutbox(db.table, () => sinks().map((s) => s.name)), sinks: sinks(), random: () => 0.5,
      send: (sink, records) => senders.get(sink.name)!(records), publisher: { publish: async (events) => void published.push(...events) },
    };
  }, 60_000);
  afterAll(async () => {
    await Promise.all([rsyslog?.close(), hec?.close()]);
    await db?.close();
  });

  it('delivers to rsyslog over TCP and TLS, octet-counted, each sink with its format and filter', async () => {
    const sent = [event('certificate.issued'), event('renewal.failed', { step: 'verify', cause: 'x' }), event('certificate.expiring', { threshold: 7, daysToExpiry: 6 })];
    for (const e of sent) await exportEvent(e, deps);
    const lines = await eventually(async () => {
      const r = rsyslog.received();
      return r.length >= 5 && r;
    }, 'rsyslog to write what it received');
    const cef = lines.filter((l) => l.includes('CEF:0|certops'));
    expect(cef).toHaveLength(3);
    expect(cef.map((l) => /\|(certificate\.issued|renewal\.failed|certificate\.expiring)\|/.exec(l)?.[1])).toEqual(['certificate.issued', 'renewal.failed', 'certificate.expiring']);
    // The TLS sink takes medium severity and above only: the failed renewal and the 7-day warning.
    const ocsf = lines.filter((l) => l.includes('"class_uid"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    expect(ocsf.map((o) => o.message).sort()).toEqual(['certificate.expiring', 'renewal.failed']);
    expect(hec.events).toHaveLength(0); // batch of 5 not full, 60 s not passed
  });

  it('keeps everything while the SIEM is down, honours Retry-After, and delivers each event once when it is back', async () => {
    hec.state.down = true;
    const more = Array.from({ length: 12 }, () => event('deployment.succeeded', { target: 'web-01' }));
    for (const e of more) await exportEvent(e, deps);
    now += 61_000;
    await flushAll(deps);
    expect(hec.events).toHaveLength(0);
    // Back, but busy: 503 with Retry-After: 120 holds the batch for two minutes.
    hec.state.down = false;
    hec.state.failWith = 503;
    hec.state.retryAfter = '120';
    now += 10 * 60_000;
    const requestsBefore = hec.state.requests;
    await flushAll(deps);
    expect(hec.state.requests).toBe(requestsBefore + 1);
    now += 60_000;
    await flushAll(deps);
    expect(hec.state.requests).toBe(requestsBefore + 1);
    hec.state.failWith = 0;
    hec.state.delayMs = 200; // slow, but answering
    now += 2 * 60_000;
    await flushAll(deps);
    const ids = hec.events.map((e: any) => e.event.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(['ev-1', 'ev-2', 'ev-3', ...more.map((e) => String(e.detail.eventId))].sort());
    expect(hec.state.gzipped).toBeGreaterThan(0);
    // A replayed event changes nothing.
    expect(await exportEvent(more[0], deps)).toBe(false);
    await flushAll(deps);
    expect(hec.events).toHaveLength(ids.length);
  });

  it('turns a batch that keeps failing into dead letters, says so once (siem.sink_failing), and replays them', async () => {
    published.length = 0;
    hec.state.delayMs = 0;
    hec.state.failWith = 500;
    hec.state.retryAfter = '';
    const lost = [event('certificate.revoked', { reason: 'keyCompromise' })];
    for (const e of lost) await exportEvent(e, deps);
    for (let i = 0; i < 6; i++) {
      now += 30 * 60_000;
      await flushAll(deps);
    }
    const letters = await deps.outbox.deadLetters('hec');
    expect(letters.map((l) => l.id)).toEqual([String(lost[0].detail.eventId)]);
    expect(letters[0]).toMatchObject({ attempts: 4, lastError: expect.stringMatching(/answered 500/) });
    // Only the last attempt tells: the sink, how many events, the error, and what the dashboard and the notice point to.
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ source: 'certops.siem-export', detailType: 'siem.sink_failing', detail: { sink: 'hec', sinkType: 'http', deadLettered: 1, attempts: 4, lastError: expect.stringMatching(/answered 500/) } });
    // Its id is the sink's and the hour's: a sink failing batch after batch is announced once an hour.
    expect(published[0].detail.eventId).toMatch(/^siem-sink-failing:hec:\d{4}-\d\d-\d\dT\d\d$/);
    expect(eventSchemaValidator()('siem.sink_failing', published[0].detail)).toBeUndefined();
    hec.state.failWith = 0;
    expect(await deps.outbox.requeueDeadLetters('hec', new Date(now))).toBe(1);
    await flushAll(deps);
    expect(hec.events.map((e: any) => e.event.eventId)).toContain(String(lost[0].detail.eventId));
    expect(await deps.outbox.deadLetters('hec')).toEqual([]);
  });

  it('keeps an audit trail whose verification names the first altered, removed or inserted record', async () => {
    const records: AuditRecord[] = [];
    for await (const r of deps.audit.all()) records.push(r);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(verifyChain(records)).toEqual({ valid: true, records: records.length });
    const page = await deps.audit.list({ certificateId: 'cert-1' }, 100);
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((r) => r.certificateId === 'cert-1')).toBe(true);
    expect((await deps.audit.list({ detailType: 'renewal.failed' }, 100)).items).toHaveLength(1);

    // Records are kept a page per committed batch, as the records' JSON text.
    const pageOf = async (seq: number) => {
      const pages = (await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)', ExpressionAttributeValues: { ':p': 'AUDIT', ':s': 'P#' } }))).Items!;
      return pages.find((p) => (JSON.parse(p.recordsJson) as AuditRecord[]).some((r) => r.seq === seq))!;
    };
    const tamper = async (seq: number, change: (record: AuditRecord) => AuditRecord[]) => {
      const page = await pageOf(seq);
      const records = (JSON.parse(page.recordsJson) as AuditRecord[]).flatMap((r) => (r.seq === seq ? change(r) : [r]));
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...page, recordsJson: JSON.stringify(records) } }));
      return page;
    };
    const all = async () => {
      const out: AuditRecord[] = [];
      for await (const r of deps.audit.all()) out.push(r);
      return out;
    };
    const original5 = await tamper(5, (r) => [{ ...r, detail: { ...r.detail, subject: 'CN=forged' } }]);
    expect(verifyChain(await all()).problem).toMatchObject({ seq: 5, kind: 'altered' });
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: original5 }));
    const original7 = await tamper(7, () => []);
    expect(verifyChain(await all()).problem).toMatchObject({ seq: 7, kind: 'removed' });
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: original7 }));
    // A record put in place of another, hashed correctly but not linked to its predecessor.
    const { recordHash } = await import('../shared/audit-chain.ts');
    await tamper(7, ({ hash: _h, ...r }) => [{ ...r, prevHash: 'f'.repeat(64), hash: recordHash({ ...r, prevHash: 'f'.repeat(64) }) }]);
    expect(verifyChain(await all()).problem).toMatchObject({ seq: 7, kind: 'inserted' });
  });
});
