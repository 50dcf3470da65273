import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.ts';
import { LogHttp } from '../adapters/ct/log-http.ts';
import { logReaderFor } from '../adapters/ct/log-readers.ts';
import { Rfc6962Client } from '../adapters/ct/rfc6962-client.ts';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoCtStateStore } from '../adapters/dynamodb/ct-state-store.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { pollOneLog, pollRequestedLog, requestPolls, type PollLogsDeps } from '../services/ct-monitor/poll-logs.ts';
import { freshTable } from './support/dynamo.ts';
import { makeChain } from './support/pki.ts';
import { startTestLog, x509Leaf } from './support/ct-test-log.ts';

/** A log that answers every request with its `answer` (a busy log: 429 or 503, Retry-After), counting them. */
async function startBusyLog(answer: { status: number; retryAfter: string }) {
  const server = createServer((_req, res) => {
    log.asked++;
    res.writeHead(log.answer.status, { 'retry-after': log.answer.retryAfter }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const log = {
    answer, asked: 0,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return log;
}

/**
 * The CT poll as units of work: the schedule hands out one ct.log_poll_requested per log that is
 * due; a poll worker reads one log, alone (a lock per log), a bounded number of entries per pass,
 * and asks for the next unit itself while its log is behind. Real logs (HTTP servers), the real
 * table; the bus is the AWS boundary (SDK mock).
 */
describe('CT poll units of work', () => {
  const bus = mockClient(EventBridgeClient);
  const clock = { now: () => new Date() };
  let db: Awaited<ReturnType<typeof freshTable>>;
  let deps: PollLogsDeps;
  let ct: DynamoCtStateStore;
  let logs: Awaited<ReturnType<typeof startTestLog>>[];
  const sent = () => bus.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ type: e.DetailType!, ...JSON.parse(e.Detail!) }));
  const watch = (log: { url: string; key: string }) => ct.saveLog({ logUrl: log.url, key: log.key, position: 0, treeSize: 0, updatedAt: clock.now().toISOString() }, undefined);

  beforeAll(async () => {
    db = await freshTable();
    ct = new DynamoCtStateStore(db.table);
    let n = 0;
    deps = {
      clock, ct, certificates: new DynamoCertificateStore(db.table), locks: new DynamoLockStore(db.table, clock), newId: () => `unit-${n++}`,
      publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      logReader: (state) => new Rfc6962Client(state.logUrl, new LogHttp({ attempts: 1, sleep: async () => undefined })),
      batchSize: 2, maxEntries: 2,
    };
    await ct.putWatchlist(['.units.example.com']);
    logs = await Promise.all([startTestLog(), startTestLog(), startTestLog()]);
    for (const [i, log] of logs.entries()) {
      for (let k = 0; k < 5; k++) log.append(x509Leaf((await makeChain([`h${k}.log${i}.units.example.com`])).leaf.der, k + 1));
      await watch(log);
    }
  });
  afterAll(async () => {
    await Promise.all(logs.map((l) => l.close()));
    await db.close();
  });
  beforeEach(() => {
    bus.reset();
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  });

  it('hands out one unit per log that is due, none for a paused log or one backing off', async () => {
    const [, paused, failing] = logs;
    await ct.setPaused(paused.url, true);
    await ct.recordPollFailure(failing.url, 'get-sth: 503', new Date(Date.now() + 60_000));
    const answer = await requestPolls(deps);
    expect(answer.requested).toEqual([logs[0].url]);
    expect(answer.paused).toEqual([paused.url]);
    expect(answer.backingOff.map((l) => l.logUrl)).toEqual([failing.url]);
    expect(sent()).toEqual([expect.objectContaining({ type: 'ct.log_poll_requested', logUrl: logs[0].url })]);
    await ct.setPaused(paused.url, false);
    await ct.recordPollFailure(failing.url, 'get-sth: 503', new Date(Date.now() - 1));
  });

  it('reads a bounded pass per unit and asks for the next unit itself while the log is behind, until it has caught up', async () => {
    const log = logs[1];
    // A deadline already past: each unit makes one pass of at most maxEntries (2) entries.
    const units = [];
    for (let i = 0; i < 5; i++) {
      const result = await pollRequestedLog(log.url, 0, deps);
      units.push(result);
      if (!('behind' in result) || !result.behind) break;
    }
    expect(units.map((u) => ('to' in u ? [u.from, u.to] : u))).toEqual([[0, 2], [2, 4], [4, 5]]);
    const next = sent().filter((e) => e.type === 'ct.log_poll_requested');
    expect(next.map((e) => e.from)).toEqual([2, 4]);
    expect(sent().filter((e) => e.type === 'ct.unauthorized_certificate')).toHaveLength(5);
    expect(await ct.getLog(log.url)).toMatchObject({ position: 5 });
  });

  it('lets one unit at a time read a log: a second unit for the same log leaves it to the first', async () => {
    const log = logs[2];
    const [first, second] = await Promise.all([pollOneLog(log.url, Date.now() + 30_000, deps), pollOneLog(log.url, Date.now() + 30_000, deps)]);
    const outcomes = [first, second];
    expect(outcomes.filter((o) => 'skipped' in o && o.skipped === 'busy')).toHaveLength(1);
    expect(outcomes.find((o) => 'to' in o)).toMatchObject({ from: 0, to: 5 });
    // The lock is given back: the next unit reads (nothing new).
    expect(await pollOneLog(log.url, Date.now() + 30_000, deps)).toMatchObject({ from: 5, to: 5 });
  });

  it('stops at the next pass when the log is paused while its unit runs', async () => {
    const log = await startTestLog();
    try {
      for (let k = 0; k < 6; k++) log.append(x509Leaf((await makeChain([`p${k}.units.example.com`])).leaf.der, k + 1));
      await watch(log);
      const store = deps.ct as DynamoCtStateStore;
      const saveLog = store.saveLog.bind(store);
      store.saveLog = async (state, expected) => {
        const saved = await saveLog(state, expected);
        if (state.logUrl === log.url) await store.setPaused(log.url, true);
        return saved;
      };
      try {
        const result = await pollOneLog(log.url, Date.now() + 30_000, deps);
        expect(result).toMatchObject({ from: 0, to: 2 });
        expect(await ct.getLog(log.url)).toMatchObject({ position: 2, paused: true });
      } finally {
        store.saveLog = saveLog;
      }
    } finally {
      await log.close();
    }
  });

  it('records a log that fails with a back-off instead of failing the unit, and leaves other logs alone', async () => {
    const down = await startTestLog();
    await watch(down);
    await down.close();
    const result = await pollOneLog(down.url, Date.now() + 30_000, deps);
    expect(result).toMatchObject({ logUrl: down.url, failures: 1 });
    const state = await ct.getLog(down.url);
    expect(Date.parse(state!.retryAfter!)).toBeGreaterThan(Date.now() + 50_000);
    expect(await pollOneLog(down.url, Date.now() + 30_000, deps)).toEqual({ logUrl: down.url, skipped: 'backing-off' });
    expect(await pollOneLog(logs[0].url, Date.now() + 30_000, deps)).toMatchObject({ from: 0, to: 5 });
  });
  it('fetches the next pass while a pass publishes its alerts, and verifies what it read ahead like anything else', async () => {
    const log = await startTestLog();
    try {
      for (let k = 0; k < 6; k++) log.append(x509Leaf((await makeChain([`a${k}.ahead.units.example.com`])).leaf.der, k + 1));
      await watch(log);
      // Each publish notes which get-entries calls the log had been asked by then.
      const askedAtPublish: string[][] = [];
      const publisher = { publish: async () => void askedAtPublish.push(log.requests.filter((r) => r.startsWith('/ct/v1/get-entries'))) };
      const result = await pollOneLog(log.url, Date.now() + 30_000, { ...deps, publisher });
      expect(result).toMatchObject({ from: 0, to: 6, unauthorized: 6 });
      // The first pass (entries 0-1) publishes after the second pass's entries (2-3) were asked for.
      expect(askedAtPublish[0]).toEqual(expect.arrayContaining(['/ct/v1/get-entries?start=0&end=1', '/ct/v1/get-entries?start=2&end=3']));
      // Nothing was asked twice, and nothing past the tree.
      const entries = log.requests.filter((r) => r.startsWith('/ct/v1/get-entries'));
      expect(entries.sort()).toEqual(['/ct/v1/get-entries?start=0&end=1', '/ct/v1/get-entries?start=2&end=3', '/ct/v1/get-entries?start=4&end=5']);
    } finally {
      await log.close();
    }
  });

  describe('a log that asks to wait (Retry-After, RFC 9110 10.2.3)', () => {
    // The reader the handler builds: five tries, real waits, none past the unit's deadline.
    const politeDeps = () => ({ ...deps, logReader: logReaderFor });
    const backOff = async (url: string) => Date.parse((await ct.getLog(url))!.retryAfter!);

    it('is not waited for past the deadline: the poll ends within it, the other log\'s result with it, and the log backs off a minute', async () => {
      const busy = await startBusyLog({ status: 503, retryAfter: '20' });
      const healthy = await startTestLog();
      try {
        healthy.append(x509Leaf((await makeChain(['h.busy.units.example.com'])).leaf.der, 1));
        await Promise.all([watch({ url: busy.url, key: logs[0].key }), watch(healthy)]);
        const started = Date.now();
        const [slow, fast] = await Promise.all([pollOneLog(busy.url, started + 3_000, politeDeps()), pollOneLog(healthy.url, started + 3_000, politeDeps())]);
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(slow).toMatchObject({ logUrl: busy.url, failures: 1, error: expect.stringMatching(/answered 503 and asks to wait 20 s/) });
        expect(fast).toMatchObject({ from: 0, to: 1 });
        expect(busy.asked).toBe(1);
        // The doubling back-off (a minute) is later than the 20 s asked for.
        expect(await backOff(busy.url)).toBeGreaterThanOrEqual(started + 60_000);
        // Its lock was given back within the deadline, and nothing asks the log before its back-off ends.
        expect(await pollOneLog(busy.url, Date.now() + 3_000, politeDeps())).toEqual({ logUrl: busy.url, skipped: 'backing-off' });
        expect((await requestPolls(deps)).requested).not.toContain(busy.url);
        expect(busy.asked).toBe(1);
      } finally {
        await Promise.all([busy.close(), healthy.close()]);
      }
    }, 10_000);

    it('keeps the time a 429 asks for as an HTTP-date, later than the doubling back-off, up to an hour', async () => {
      const inTenMinutes = new Date(Math.ceil(Date.now() / 1000) * 1000 + 10 * 60_000);
      const busy = await startBusyLog({ status: 429, retryAfter: inTenMinutes.toUTCString() });
      try {
        await watch({ url: busy.url, key: logs[0].key });
        const started = Date.now();
        expect(await pollOneLog(busy.url, started + 3_000, politeDeps())).toMatchObject({ failures: 1, error: expect.stringMatching(/answered 429 and asks to wait \d+ s/) });
        expect(Date.now() - started).toBeLessThan(3_000);
        expect(await backOff(busy.url)).toBe(inTenMinutes.getTime());
        expect((await requestPolls(deps)).backingOff).toContainEqual(expect.objectContaining({ logUrl: busy.url, retryAfter: inTenMinutes.toISOString() }));
        // A log asking for three hours (seconds form) is asked again after an hour at most.
        await ct.recordPollFailure(busy.url, 'reset', new Date(Date.now() - 1));
        busy.answer = { status: 503, retryAfter: String(3 * 3600) };
        const again = Date.now();
        await pollOneLog(busy.url, again + 3_000, politeDeps());
        expect(await backOff(busy.url)).toBeGreaterThanOrEqual(again + 3600_000);
        expect(await backOff(busy.url)).toBeLessThanOrEqual(Date.now() + 3600_000);
        expect(busy.asked).toBe(2);
      } finally {
        await busy.close();
      }
    }, 10_000);
  });
});
