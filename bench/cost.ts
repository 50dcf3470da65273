// npm run bench:cost — what certops' own operations ask of AWS, measured through the running local
// stack (the same handlers, table design and bus), and the monthly bill they make at published
// prices (docs/cost.md shows the model and a run's figures):
//   - the hourly renewal sweep over 10,000 certificates (expiry spread over 90 days);
//   - a scan of 1,022 endpoints that all serve TLS (a silent-free /22 on loopback, served by another process);
//   - renewals (issue, saga, supersede; no deployment target), per renewal;
//   - CT: a 50,000-entry RFC 6962 log read from entry 0 (bench/support/ct-log-server.ts, another process).
// For each: Lambda invocations and their duration (what Lambda bills), DynamoDB request units (the
// embedded table counts them as on demand bills them), events put on the bus, and the process's CPU.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalStack } from '../local/stack.ts';
import { openTable, tableClientConfig } from '../adapters/dynamodb/table.ts';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { certificateRecord } from '../shared/x509/certificate-record.ts';
import { makeChain } from '../test/support/pki.ts';
import { apiCall } from '../test/support/api.ts';
import { ROOT } from '../test/support/processes.ts';
import { loadDefinition } from '../local/serverless-definition.ts';
import { ENTRIES, WATCHED_DOMAIN } from './support/ct-bench-entries.ts';
import type { StoredCertificate } from '../shared/model.ts';

const CERTIFICATES = 10_000;
const RENEWALS = 20;
const TLS_PORT = 9444;
const SCANNED = 1022;
/** The alarms serverless.yml declares itself (its resources), beside those its plugins add per function and per queue. */
const SUITE_ALARMS = 6;
const DAY = 86_400_000;

const home = mkdtempSync(join(tmpdir(), 'certops-bench-cost-'));
const stack = await startLocalStack({ ...process.env, CERTOPS_HOME: home, PORT: '0', CERTOPS_SIEM_FILE: '', CERTOPS_COUNT_TABLE_WRITES: join(home, 'usage.json'), CERTOPS_SCHEDULE_INTERVAL_MS: String(24 * 3600_000) });
const token = readFileSync(stack.tokenFile, 'utf8').trim();
const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, token, method, path, body);
let eventsPut = 0;
const putEvents = stack.bus.putEvents.bind(stack.bus);
stack.bus.putEvents = async (entries, refuse) => {
  eventsPut += entries.length;
  return putEvents(entries, refuse);
};

interface Figures { seconds: number; cpuSeconds: number; invocations: number; lambdaMs: number; byFunction: Record<string, { count: number; ms: number }>; writeUnits: number; readUnits: number; writeCalls: number; readCalls: number; events: number }

/** Runs `work`, waits for the bus and the sagas to finish what it started, and says what it all took. */
async function measured(work: () => Promise<void>): Promise<Figures> {
  await stack.bus.drain();
  const before = { table: await stack.embeddedTable.writes(), fns: stack.invocations(), cpu: process.cpuUsage(), events: eventsPut, at: performance.now() };
  await work();
  await stack.saga.drain();
  await stack.bus.drain();
  const table = await stack.embeddedTable.writes();
  const cpu = process.cpuUsage(before.cpu);
  const byFunction: Record<string, { count: number; ms: number }> = {};
  for (const [fn, n] of Object.entries(stack.invocations())) {
    const count = n.count - (before.fns[fn]?.count ?? 0);
    if (count > 0) byFunction[fn] = { count, ms: n.ms - (before.fns[fn]?.ms ?? 0) };
  }
  const all = Object.values(byFunction);
  return {
    seconds: (performance.now() - before.at) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6,
    invocations: all.reduce((n, f) => n + f.count, 0), lambdaMs: all.reduce((n, f) => n + f.ms, 0), byFunction,
    writeUnits: table.writeUnits - before.table.writeUnits, readUnits: table.readUnits - before.table.readUnits,
    writeCalls: table.calls - before.table.calls, readCalls: table.readCalls - before.table.readCalls, events: eventsPut - before.events,
  };
}

// 10,000 certificates in the inventory (discovered: the sweep alerts on them; renewals are measured apart), expiring over the next 90 days.
const sample = (await makeChain(['cost.example.com'])).leaf;
const record = certificateRecord(sample.der);
const store = new DynamoCertificateStore(openTable(`certops-local`, tableClientConfig(process.env.CERTOPS_DYNAMODB_ENDPOINT)));
const now = Date.now();
for (let i = 0; i < CERTIFICATES; i += 50) {
  await Promise.all(Array.from({ length: 50 }, (_, k) => {
    const n = i + k;
    const hash = createHash('sha256').update(`cost-${n}`).digest('hex');
    const colons = (hex: string) => hex.toUpperCase().match(/../g)!.join(':');
    return store.create({ ...record, id: hash.slice(0, 32), fingerprintSha256: colons(hash), serialNumber: colons(hash.slice(0, 16)), notBefore: new Date(now - DAY).toISOString(), notAfter: new Date(now + ((n % 90) + 1) * DAY).toISOString(), certificatePem: sample.pem, chainPem: '', status: 'discovered', source: 'scan', targets: [], createdAt: new Date().toISOString() } as StoredCertificate);
  }));
}
const runSweep = async () => void (await stack.invoke('renewalSweep', { source: 'aws.events', 'detail-type': 'Scheduled Event' }));
// The first sweep sends every alert the certificates are due (30, 14, 7 and 1 days); the next one,
// an hour later, sends them again under the same event ids, which the SIEM export drops: that is
// each hourly sweep of a month.
const firstSweep = await measured(runSweep);
const sweep = await measured(runSweep);

// Renewals of certificates the built-in CA issued (no targets): the saga issues, supersedes and announces.
const issued: string[] = [];
for (let i = 0; i < RENEWALS; i++) {
  const { status, body } = await api('POST', '/certificates', { commonName: `r${i}.cost.example.com`, subjectAlternativeNames: [`r${i}.cost.example.com`], environment: 'dev', owner: 'team-a' });
  if (status !== 201) throw new Error(`issue: ${status} ${JSON.stringify(body)}`);
  issued.push(body.certificateId);
}
const renewal = await measured(async () => {
  for (const id of issued) {
    const { status, body } = await api('POST', `/certificates/${id}/renew`, {});
    if (status !== 202) throw new Error(`renew ${id}: ${status} ${JSON.stringify(body)}`);
  }
});

// A scan of 1,022 endpoints, every one serving TLS (a server in another process, on every loopback address).
const tls = spawn(process.execPath, ['-e', `const tls = require('node:tls'); const s = tls.createServer({ cert: process.env.CERT, key: process.env.KEY }, (c) => c.end()); s.on('tlsClientError', () => {}); s.listen(${TLS_PORT}, '0.0.0.0', () => console.log('ready'));`], { env: { ...process.env, CERT: sample.pem, KEY: await sample.keyPem() }, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => tls.stdout!.once('data', r));
const scan = await measured(async () => {
  const { body } = await api('POST', '/scans', { targets: ['127.6.0.0/22'], ports: [TLS_PORT] });
  for (let s = body; s.status === 'running'; s = (await api('GET', `/scans/${body.scanId}?limit=1`)).body) await new Promise((r) => setTimeout(r, 500));
});
tls.kill();

// CT: the benchmark log from entry 0, polled until nothing is behind.
const logServer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/ct-log-server.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
const log = JSON.parse((await createInterface({ input: logServer.stdout! })[Symbol.asyncIterator]().next()).value) as { url: string; key: string };
await api('PUT', '/ct/watchlist', { domains: [WATCHED_DOMAIN] });
await api('POST', '/ct/logs', { url: log.url, key: log.key, start: 0 });
const ct = await measured(async () => {
  for (;;) {
    const { body } = await api('POST', '/ct/poll', {});
    const result = body.logs.find((l: { logUrl: string }) => l.logUrl === log.url);
    if (result.error || result.misbehaviour) throw new Error(JSON.stringify(result));
    if (result.to === ENTRIES && !result.behind) break;
  }
});
// A unit of work per log and schedule tick once the log is caught up: the schedule's fan-out
// event, the worker's invocation, its lock, get-sth and the state it reads (steady tailing reads a
// few thousand entries per unit, each costing what a CT entry above costs).
const ctUnit = await measured(async () => void (await stack.invoke('ctMonitorPoll', { source: 'aws.events' })));
logServer.kill();

// The other schedules (recovery, expiring requests, the SIEM flush, ACM sync...), each run once as
// its schedule runs it; the sweep, the CT poll and the scheduled scan are modelled above.
const definition = loadDefinition(ROOT);
const modelled = new Set(['renewalSweep', 'ctMonitorPoll', 'inventoryScheduledScans']);
const schedules = [];
for (const { fn, everyMs } of definition.schedules.filter((s) => !modelled.has(s.fn))) {
  schedules.push({ fn, perMonth: (30 * DAY) / everyMs, ...(await measured(async () => void (await stack.invoke(fn, { source: 'aws.events' })))) });
}
await stack.stop();

const per = (f: Figures, n: number) => ({
  lambdaMs: f.lambdaMs / n, invocations: f.invocations / n, writeUnits: f.writeUnits / n, readUnits: f.readUnits / n, events: f.events / n, cpuMs: (f.cpuSeconds * 1000) / n,
});
type PerOperation = ReturnType<typeof per>;
const figures = { firstSweep: per(firstSweep, 1), sweep: per(sweep, 1), renewal: per(renewal, RENEWALS), scanEndpoint: per(scan, SCANNED), ctEntry: per(ct, ENTRIES), ctUnit: per(ctUnit, 1) };
const row = (name: string, f: PerOperation) => `${name.padEnd(36)} ${f.lambdaMs.toFixed(3).padStart(10)} ${f.invocations.toFixed(3).padStart(8)} ${f.writeUnits.toFixed(2).padStart(9)} ${f.readUnits.toFixed(2).padStart(8)} ${f.events.toFixed(3).padStart(8)} ${f.cpuMs.toFixed(3).padStart(9)}`;
console.log(`${'measured, per operation'.padEnd(36)} ${'Lambda ms'.padStart(10)} ${'invokes'.padStart(8)} ${'WRU'.padStart(9)} ${'RRU'.padStart(8)} ${'events'.padStart(8)} ${'CPU ms'.padStart(9)}`);
console.log(row(`first sweep of ${CERTIFICATES} certificates`, figures.firstSweep));
console.log(row(`hourly sweep of ${CERTIFICATES} certificates`, figures.sweep));
console.log(row('renewal (no deployment target)', figures.renewal));
console.log(row(`scanned endpoint (of ${SCANNED}, serving TLS)`, figures.scanEndpoint));
console.log(row(`CT entry (of ${ENTRIES}, 1% on watched names)`, figures.ctEntry));
console.log(row('CT unit of work, log caught up', figures.ctUnit));
for (const sc of schedules) console.log(row(`${sc.fn} (${Math.round(sc.perMonth)} a month)`, per(sc, 1)));
console.log(`CT: ${ENTRIES} entries in ${ct.seconds.toFixed(1)} s wall, ${ct.cpuSeconds.toFixed(1)} s CPU (the stack's process: functions and the embedded table)`);

// Published on-demand prices, us-east-1, as AWS's pricing pages give them (read 2026-12; docs/cost.md names each page).
const PRICE = {
  lambdaGbSecond: 0.0000133334, lambdaRequest: 0.2 / 1e6, writeUnit: 0.625 / 1e6, readUnit: 0.125 / 1e6, event: 1 / 1e6,
  sqsRequest: 0.4 / 1e6, transition: 0.025 / 1000, kmsKeyMonth: 1, alarmMonth: 0.1,
};
/** Monthly cost of `times` operations measured as `f`, in functions of `memoryGb`. */
const monthly = (f: PerOperation, times: number, memoryGb: number) => {
  const lambda = times * ((f.lambdaMs / 1000) * memoryGb * PRICE.lambdaGbSecond + f.invocations * PRICE.lambdaRequest);
  const table = times * (f.writeUnits * PRICE.writeUnit + f.readUnits * PRICE.readUnit);
  // Each event: EventBridge's put, then about three SQS requests per consumer queue it reaches (send, receive, delete; receives and deletes batched).
  const bus = times * f.events * (PRICE.event + 3 * PRICE.sqsRequest);
  return { lambda, table, bus, total: lambda + table + bus };
};
const SAGA_TRANSITIONS = 8; // Lock, Renew, the Map, Deploy and Verify for one target, Commit, and the Map's own start and end
const renewalsPerMonth = CERTIFICATES / 60 * 30; // 90-day certificates renewed at two thirds of their lifetime
// The packaged template's standing costs: the vault key; an alarm per function's errors, per
// consumer's dead-letter queue and the suite's own; and each consumer queue, which Lambda polls
// even when idle (five long polls of 20 s at a time).
const queues = new Set(definition.rules.map((r) => r.fn)).size;
const alarms = Object.keys(definition.functions).length + queues + SUITE_ALARMS;
const scheduled = schedules.reduce((sum, sc) => sum + monthly(per(sc, 1), sc.perMonth, 0.5).total, 0);
const fixed = PRICE.kmsKeyMonth + alarms * PRICE.alarmMonth + queues * 5 * 3 * 60 * 24 * 30 * PRICE.sqsRequest + scheduled;
const a = {
  sweeps: monthly(figures.sweep, 24 * 30, 0.5),
  scans: monthly(figures.scanEndpoint, 1000 * 30, 0.5),
  renewals: monthly(figures.renewal, renewalsPerMonth, 0.5),
  saga: renewalsPerMonth * SAGA_TRANSITIONS * PRICE.transition,
};
const totalA = a.sweeps.total + a.scans.total + a.renewals.total + a.saga + fixed;
const money = (n: number) => `$${n.toFixed(2)}`;
console.log(`\n(a) ${CERTIFICATES} certificates, hourly sweeps, daily scans of 1,000 endpoints, ${Math.round(renewalsPerMonth)} renewals a month:`);
console.log(`  sweeps   720 x: Lambda ${money(a.sweeps.lambda)}, DynamoDB ${money(a.sweeps.table)}, bus ${money(a.sweeps.bus)}`);
console.log(`  scans    30,000 endpoints: Lambda ${money(a.scans.lambda)}, DynamoDB ${money(a.scans.table)}, bus ${money(a.scans.bus)}`);
console.log(`  renewals ${Math.round(renewalsPerMonth)}: Lambda ${money(a.renewals.lambda)}, DynamoDB ${money(a.renewals.table)}, bus ${money(a.renewals.bus)}, Step Functions ${money(a.saga)}`);
console.log(`  standing: KMS key, ${alarms} alarms, ${queues} queues polled, the other schedules (${money(scheduled)}): ${money(fixed)}`);
console.log(`  total ${money(totalA)} a month`);
// (b) Every public CT log: about 16 million certificates a day (Let's Encrypt's 10 million at 63%
// of issuance), each precertificate logged in about 2.5 logs: 40 million entries a day, across
// about 40 logs, read by a unit of work per log every 5 minutes.
const CT_ENTRIES_PER_MONTH = 40e6 * 30;
const CT_UNITS_PER_MONTH = 40 * 12 * 24 * 30;
const entries = monthly(figures.ctEntry, CT_ENTRIES_PER_MONTH, 1);
const unitsCost = monthly(figures.ctUnit, CT_UNITS_PER_MONTH, 1);
const totalB = entries.total + unitsCost.total;
console.log(`\n(b) every public CT log, ${(CT_ENTRIES_PER_MONTH / 1e9).toFixed(1)} billion entries a month in ${CT_UNITS_PER_MONTH} units of work:`);
console.log(`  entries: Lambda ${money(entries.lambda)}, DynamoDB ${money(entries.table)}, bus ${money(entries.bus)} (the last two at the benchmark's 1% of entries matched)`);
console.log(`  units:   Lambda ${money(unitsCost.lambda)}, DynamoDB ${money(unitsCost.table)}, bus ${money(unitsCost.bus)}`);
console.log(`  total ${money(totalB)} a month; without matches ${money(entries.lambda + unitsCost.total)}`);
const out = process.env.BENCH_COST_OUT;
if (out) writeFileSync(out, JSON.stringify({ figures, schedules, a: { ...a, fixed, scheduled, total: totalA }, b: { entries, units: unitsCost, total: totalB } }, null, 2));
process.exit(0);
