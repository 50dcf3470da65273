// npm run bench:siem — events per second formatted and delivered to a local HTTP receiver with
// batching, for each format; then the same delivery through the outbox while the receiver fails
// (down for a while, then 500s, then slow), printing events sent, received and duplicated; then
// the durable path through the running suite, from the bus to the receiver.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { HttpSink } from '../adapters/siem/http-sink.ts';
import { DynamoAuditTrail } from '../adapters/dynamodb/audit-trail.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoSiemOutbox } from '../adapters/dynamodb/siem-outbox.ts';
import { exportEvent, flushAll } from '../services/siem-export/export-event.ts';
import { formatForSink } from '../services/siem-export/format-event.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { SinkConfig } from '../shared/siem-config.ts';
import { freshTable } from '../test/support/dynamo.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.ts';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { openTable, tableClientConfig } from '../adapters/dynamodb/table.ts';
import { newEvent } from '../shared/events/envelope.ts';

const state = { mode: 'up' as 'up' | 'down' | 'error' | 'slow', received: new Map<string, number>(), requests: 0 };
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    state.requests++;
    if (state.mode === 'down') return void req.socket.destroy();
    if (state.mode === 'error') return void res.writeHead(500).end();
    if (state.mode === 'slow') await new Promise((r) => setTimeout(r, 300));
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const text = body.toString();
    // Count events by id whatever the envelope: every format carries the event id.
    for (const m of text.matchAll(/"(?:eventId|uid|id)":"(ev-\d+)"|externalId=(ev-\d+)/g)) {
      const id = m[1] ?? m[2];
      state.received.set(id, (state.received.get(id) ?? 0) + 1);
    }
    res.writeHead(200).end('{}');
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const events: BusEvent[] = Array.from({ length: 100_000 }, (_, i) => ({
  source: 'certops.deployment', detailType: i % 2 ? 'deployment.succeeded' : 'certificate.expiring',
  detail: { eventId: `ev-${i}`, occurredAt: new Date(Date.UTC(2026, 10, 26) + i).toISOString(), correlationId: `c-${i}`, certificateId: `cert-${i % 1000}`, subject: `CN=h${i}.example.com`, serialNumber: '0A:1B:2C:3D', issuer: 'CN=certops local intermediate CA, O=certops', notAfter: '2027-02-24T00:00:00.000Z', fingerprintSha256: 'AB:CD', target: 'web-01', targets: ['web-01'], threshold: 14, daysToExpiry: 13.2 },
}));

const BATCH = 500;
console.log(`formatted and delivered over HTTP in batches of ${BATCH} (gzip), ${events.length} events per format:`);
for (const format of ['seed', 'ecs', 'ocsf', 'cef', 'splunk-hec'] as const) {
  const sink: SinkConfig = { name: format, type: 'http', format, protocol: format === 'splunk-hec' ? 'splunk-hec' : 'json', url, gzip: true, eventTypes: [], minSeverity: 'info', batchSize: BATCH, batchMs: 0, maxAttempts: 3 };
  const http = new HttpSink({ url, protocol: sink.protocol!, gzip: true, timeoutMs: 10_000 });
  state.received.clear();
  const start = performance.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < events.length; i += BATCH) {
    inflight.push(http.send(events.slice(i, i + BATCH).map((e) => formatForSink(sink, e))));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const seconds = (performance.now() - start) / 1000;
  console.log(`  ${format.padEnd(10)} ${Math.round(events.length / seconds)} events/s (received ${state.received.size})${format === 'seed' || format === 'ecs' ? '  target >= 10,000' : ''}`);
}

// Through the durable path (audit trail, outbox in the table) while the receiver misbehaves.
const db = await freshTable();
let now = Date.UTC(2026, 10, 26, 12);
const clock = { now: () => new Date(now) };
const sink: SinkConfig = { name: 'siem', type: 'http', format: 'seed', protocol: 'json', url, gzip: true, eventTypes: [], minSeverity: 'info', batchSize: 200, batchMs: 1000, maxAttempts: 50 };
const http = new HttpSink({ url, protocol: 'json', gzip: true, timeoutMs: 200 });
const deps = {
  clock, audit: new DynamoAuditTrail(db.table), locks: new DynamoLockStore(db.table, clock),
  outbox: new DynamoSiemOutbox(db.table, () => ['siem']), sinks: [sink], random: Math.random, publisher: { publish: async () => undefined }, send: (_s: SinkConfig, r: string[]) => http.send(r),
};
state.received.clear();
const durable = events.slice(0, 3000);
const phases: [typeof state.mode, number][] = [['up', 500], ['down', 1000], ['error', 700], ['slow', 500], ['up', 300]];
const start = performance.now();
let sent = 0;
for (const [mode, count] of phases) {
  state.mode = mode;
  for (const e of durable.slice(sent, sent + count)) {
    now += 1000;
    await exportEvent({ ...e, detail: { ...e.detail, occurredAt: new Date(now).toISOString() } }, deps);
  }
  sent += count;
}
state.mode = 'up';
for (let i = 0; i < 100 && state.received.size < sent; i++) {
  now += 20 * 60_000;
  await flushAll(deps);
}
const seconds = (performance.now() - start) / 1000;
const duplicated = [...state.received.values()].filter((c) => c > 1).length;
console.log(`through the outbox with the receiver down, then failing with 500, then slow: ${sent} sent, ${state.received.size} received, ${duplicated} duplicated, ${sent - state.received.size} missing (${Math.round(sent / seconds)} events/s with every event written to the audit trail and the outbox first)`);
await db.close();

// The durable path as it runs: events put on the running suite's bus, each into the audit trail
// (its writers, a batch a commit) and the sink's outbox, then to the receiver; timed from the first put
// to the last receipt, beside the direct delivery above. The table counts what it takes only in a
// first, smaller run on the same stack, which is not timed: counting reads every request again
// (some 5% of the rate), and a suite that is running has compiled its code and filled its caches
// long before a burst, which a stack's first events have not.
const stackHome = mkdtempSync(join(tmpdir(), 'certops-bench-siem-'));
writeFileSync(join(stackHome, 'config.yaml'), `siem:\n  sinks:\n    - name: bench\n      type: http\n      protocol: json\n      url: ${url}\n      format: seed\n      gzip: true\n      batchSize: 500\n      batchMs: 200\n`);
const stack = await startLocalStack({ ...process.env, CERTOPS_HOME: stackHome, PORT: '0', CERTOPS_SIEM_FILE: '' });
state.mode = 'up';
/** Puts `count` events (ids ev-<first>...) on the bus, 10 a call from 16 callers, and waits until the receiver has them all. */
async function durableRun(first: number, count: number) {
  state.received.clear();
  const published = Array.from({ length: count }, (_, i) => newEvent('ct.watchlist_changed', { changedBy: 'bench', added: [`d${first + i}.example.com`], removed: [] }, { now: () => new Date(), newId: () => `ev-${first + i}` }));
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const batch = published.slice(next, (next += 10));
      const answer = await stack.bus.putEvents(batch.map((e) => ({ Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail), EventBusName: 'certops-local' })));
      if (answer.FailedEntryCount) throw new Error(`PutEvents refused ${answer.FailedEntryCount} events`);
    }
  }));
  while (published.some((e) => !state.received.has(String(e.detail.eventId))) && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  const got = published.filter((e) => state.received.has(String(e.detail.eventId))).length;
  // Copies are counted once every export under way has finished (and flushed what it queued), not at the last first receipt.
  await stack.bus.drain();
  const twice = published.filter((e) => state.received.get(String(e.detail.eventId))! > 1).length;
  return { got, twice, missing: count - got, rate: got / seconds };
}
const DURABLE = Number(process.env.BENCH_DURABLE_EVENTS ?? 10_000);
const COUNTED = Math.min(DURABLE, 2_000);
// Counted from an idle stack to an idle one: a run's last outbox and trail writes come after its last receipt.
await stack.embeddedTable.count(true);
const writesBefore = await stack.embeddedTable.writes();
const counted = await durableRun(0, COUNTED);
const writesAfter = await stack.embeddedTable.writes();
await stack.embeddedTable.count(false);
const itemsPerEvent = (writesAfter.items - writesBefore.items) / COUNTED;
const run = await durableRun(COUNTED, DURABLE);
const verify = await (await fetch(`${stack.url}/audit/verify`, { headers: { authorization: `Bearer ${readFileSync(stack.tokenFile, 'utf8').trim()}` } })).json();
console.log(`durable path through the running suite (bus, audit trail, outbox, HTTP sink; batches of up to 1,000 to at most two writers): ${DURABLE} published, ${run.got} received, ${run.twice} duplicated, ${run.missing} missing, ${Math.round(run.rate)} events/s (target >= 2,000), after a first run of ${COUNTED}, counted and not timed (${counted.got} received, ${counted.twice} duplicated, ${counted.missing} missing); the audit trail ${verify.valid ? 'verifies' : 'is BROKEN'} with ${verify.records} records`);
// What each event costs the store (counted in the first run), against what the embedded table
// takes at most (BatchWriteItem, 25 items of about 1 KB a call, 8 calls at once, on the same
// table): a ceiling from writes alone (each event also reads its marker, and the embedded table
// reads an item before it puts one).
const table = openTable('certops-local', tableClientConfig(process.env.CERTOPS_DYNAMODB_ENDPOINT));
let written = 0;
const floodStart = performance.now();
await Promise.all(Array.from({ length: 8 }, async (_, w) => {
  for (let n = 0; performance.now() - floodStart < 3000; n++) {
    await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { pk: `BENCH#${w}#${n}#${i}`, sk: 'BENCH', body: 'x'.repeat(900) } } })) } }));
    written += 25;
  }
}));
const itemsPerSecond = written / ((performance.now() - floodStart) / 1000);
console.log(`  store (counted in the first run): ${itemsPerEvent.toFixed(1)} item writes per event (a marker per event; per PutEvents call the bus ledger's item; per batch the head, the trail's page and the outbox's), and the embedded table takes ${Math.round(itemsPerSecond)} item writes/s at most: writes alone would stop it at ${Math.round(itemsPerSecond / itemsPerEvent)} events/s here`);
await stack.stop();
rmSync(stackHome, { recursive: true, force: true });
server.close();
process.exit(0);
