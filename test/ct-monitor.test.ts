import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.ts';
import { LogHttp } from '../adapters/ct/log-http.ts';
import { Rfc6962Client } from '../adapters/ct/rfc6962-client.ts';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoCtStateStore } from '../adapters/dynamodb/ct-state-store.ts';
import { pollLog, type PollDeps } from '../services/ct-monitor/poll-log.ts';
import type { CtLogState, StoredCertificate } from '../shared/model.ts';
import { certificateRecord } from '../shared/x509/certificate-record.ts';
import { freshTable } from './support/dynamo.ts';
import { makeChain, makeCert } from './support/pki.ts';
import { precertLeaf, startTestLog, x509Leaf } from './support/ct-test-log.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

type TestLog = Awaited<ReturnType<typeof startTestLog>>;

describe('the CT monitor verifies before it alerts', () => {
  const events = mockClient(EventBridgeClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  let log: TestLog;
  let ct: DynamoCtStateStore;
  let certificates: DynamoCertificateStore;
  let deps: PollDeps;
  const sent = () => events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ type: e.DetailType!, ...JSON.parse(e.Detail!) }));
  const state = async () => (await ct.getLog(log.url))!;

  beforeAll(async () => {
    db = await freshTable();
    log = await startTestLog(4);
    ct = new DynamoCtStateStore(db.table);
    certificates = new DynamoCertificateStore(db.table);
    deps = { clock: { now: () => new Date() }, ct, certificates, publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials }), logReader: (state) => new Rfc6962Client(state.logUrl, new LogHttp({ attempts: 2, sleep: async () => undefined })), batchSize: 3 };
    await ct.putWatchlist(['.shop.example.com']);
    await ct.saveLog({ logUrl: log.url, key: log.key, position: 0, treeSize: 0, updatedAt: new Date().toISOString() } as CtLogState, undefined);
  });
  afterAll(async () => {
    await log.close();
    await db.close();
  });
  beforeEach(() => {
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    log.faults.flipBitInEntry = -1;
    log.faults.wrongSignature = false;
    log.faults.forkedRoot = false;
    log.faults.staleSize = -1;
  });

  const entry = async (name: string) => (await makeChain([name])).leaf;
  /** A log of its own for one test, closed after it. */
  const withLog = async (body: (fresh: TestLog) => Promise<void>, maxBatch?: number) => {
    const fresh = await startTestLog(maxBatch);
    try {
      await body(fresh);
    } finally {
      await fresh.close();
    }
  };
  /** Watches `fresh` from `position`, with no verified tree yet. */
  const watchFrom = (fresh: TestLog, position = 0) => ct.saveLog({ logUrl: fresh.url, key: fresh.key, position, treeSize: position, updatedAt: new Date().toISOString() }, undefined);

  it('stays quiet about its own certificates, alerts on the others, and counts a precertificate and its certificate once', async () => {
    const own = await entry('www.shop.example.com');
    const rec = certificateRecord(own.der);
    await certificates.create({ ...rec, certificatePem: own.pem, chainPem: '', status: 'active', source: 'issued', targets: [], createdAt: new Date().toISOString() } as StoredCertificate);
    const stranger = await entry('login.shop.example.com');
    const decoy = await entry('shop.example.com.evil.test');
    // A precertificate for pay.shop.example.com, then its final certificate (same TBS, plus nothing the identity counts).
    const issuer = (await makeChain(['x.example.com'])).intermediate;
    const final = await makeCert({ subject: 'CN=pay.shop.example.com', sans: ['pay.shop.example.com'], issuer });
    const { children, readTlv } = await import('../shared/x509/der.ts');
    const tbs = children(final.der, readTlv(final.der, 0))[0];
    log.append(x509Leaf(own.der, 1));
    log.append(x509Leaf(decoy.der, 2));
    log.append(precertLeaf(Buffer.alloc(32, 7), final.der.subarray(tbs.offset, tbs.end), 3));
    log.append(x509Leaf(stranger.der, 4));
    log.append(x509Leaf(final.der, 5));
    const result = await pollLog(await state(), deps);
    expect(result).toMatchObject({ from: 0, to: 5, observed: 1, unauthorized: 2 });
    const out = sent();
    expect(out.filter((e) => e.type === 'ct.certificate_observed').map((e) => e.index)).toEqual([0]);
    expect(out.filter((e) => e.type === 'ct.unauthorized_certificate').map((e) => [e.index, e.entryType, e.severity])).toEqual([[2, 'precert', 'high'], [3, 'x509', 'high']]);
    const findings = (await ct.listFindings({ limit: 500 })).items;
    expect(findings.map((f) => f.names[0]).sort()).toEqual(['login.shop.example.com', 'pay.shop.example.com']);
    expect((await state())).toMatchObject({ position: 5, treeSize: 5 });
  });

  it('rates an unknown certificate medium when its issuer is one the domain expects, high otherwise', async () => {
    const expectedIssuer = (await makeChain(['x.example.com'])).intermediate;
    const fromExpected = await makeCert({ subject: 'CN=api.shop.example.com', sans: ['api.shop.example.com'], issuer: expectedIssuer });
    await withLog(async (fresh) => {
      fresh.append(x509Leaf(fromExpected.der, 1));
      const otherCa = await makeCert({ subject: 'CN=Other CA', ca: true });
      fresh.append(x509Leaf((await makeCert({ subject: 'CN=other.shop.example.com', sans: ['other.shop.example.com'], issuer: otherCa })).der, 2));
      await watchFrom(fresh);
      await pollLog((await ct.getLog(fresh.url))!, { ...deps, allowedIssuers: { '.shop.example.com': ['CN=Test Intermediate'] } });
      const alerts = sent().filter((e) => e.type === 'ct.unauthorized_certificate' && e.logUrl === fresh.url);
      expect(alerts.map((e) => [e.names[0], e.severity, e.issuer])).toEqual([['api.shop.example.com', 'medium', 'CN=Test Intermediate'], ['other.shop.example.com', 'high', 'CN=Other CA']]);
    });
  });

  it('alerts on every spelling of a watched name handed in ops case 07 (UTF-8 U-label SANs, trailing dots, an https:// SAN)', async () => {
    const handed = new URL('./fixtures/ops-cases/07-ct-missed-name-spellings/', import.meta.url);
    const files = readdirSync(handed).filter((f) => f.endsWith('.der')).sort();
    await ct.putWatchlist(['.example.com', 'bücher.example.org']);
    try {
      await withLog(async (fresh) => {
        files.forEach((file, i) => fresh.append(x509Leaf(readFileSync(new URL(file, handed)), i + 1)));
        await watchFrom(fresh);
        const result = await pollLog((await ct.getLog(fresh.url))!, deps);
        expect(result).toMatchObject({ to: files.length, unauthorized: files.length });
        const alerted = sent().filter((e) => e.type === 'ct.unauthorized_certificate' && e.logUrl === fresh.url).map((e) => files[e.index]);
        expect(alerted).toEqual(files);
      });
    } finally {
      await ct.putWatchlist(['.shop.example.com']);
    }
  });

  it('a flipped bit in one entry: misbehaviour naming it, no alert from unverified data, position kept', async () => {
    log.append(x509Leaf((await entry('a.shop.example.com')).der, 6));
    log.append(x509Leaf((await entry('b.shop.example.com')).der, 7));
    log.faults.flipBitInEntry = 6;
    const result = await pollLog(await state(), deps);
    expect(result.misbehaviour).toMatch(/root over the entries does not match.*entry 6 is not in it/);
    expect(sent().map((e) => e.type)).toEqual(['ct.log_misbehaviour']);
    expect(sent()[0]).toMatchObject({ logUrl: log.url, treeSize: 7, index: 6 });
    expect((await state()).position).toBe(5);
  });

  it('a bad signature: misbehaviour, nothing read', async () => {
    log.faults.wrongSignature = true;
    const result = await pollLog(await state(), deps);
    expect(result.misbehaviour).toMatch(/does not verify with the log's key/);
    expect(sent().map((e) => e.type)).toEqual(['ct.log_misbehaviour']);
    expect((await state()).position).toBe(5);
  });

  it('two inconsistent tree heads: misbehaviour', async () => {
    log.faults.forkedRoot = true;
    const result = await pollLog(await state(), deps);
    expect(result.misbehaviour).toMatch(/not consistent with the verified one of size 5/);
    expect((await state()).position).toBe(5);
  });

  it('an older head from a caching front end is not misbehaviour when it is consistent with the verified tree (RFC 6962 5.3)', async () => {
    log.faults.staleSize = 3;
    const result = await pollLog(await state(), deps);
    expect(result).toMatchObject({ staleHead: 3 });
    expect(result.misbehaviour).toBeUndefined();
    expect(sent()).toEqual([]);
    expect((await state())).toMatchObject({ position: 5, treeSize: 5 });
    // An older head that is not a prefix of the verified tree is evidence against the log.
    log.faults.forkedRoot = true;
    expect((await pollLog(await state(), deps)).misbehaviour).toMatch(/size 3 is not consistent with the verified one of size 5/);
  });

  it('a crash between fetching and saving resumes with no gap, and alerts again only with the same ids', async () => {
    const failing = { ...deps, ct: Object.assign(Object.create(ct), { saveLog: async () => { throw new Error('crash'); } }) };
    await expect(pollLog(await state(), failing)).rejects.toThrow('crash');
    const first = sent().filter((e) => e.type === 'ct.unauthorized_certificate').map((e) => e.eventId);
    expect(first).toHaveLength(2);
    expect((await state()).position).toBe(5);
    events.resetHistory();
    const result = await pollLog(await state(), deps);
    expect(result).toMatchObject({ from: 5, to: 7 });
    // The findings were recorded before the crash; the retry re-sends nothing new.
    expect(sent().filter((e) => e.type === 'ct.unauthorized_certificate').map((e) => e.eventId)).toEqual([]);
    expect(first.every((id) => id.startsWith(`ct:unauthorized:${log.url}:`))).toBe(true);
    expect((await state()).position).toBe(7);
  });

  it('starts at the end of a log without reading its past, then verifies what comes next', async () => {
    await withLog(async (fresh) => {
      for (let i = 0; i < 13; i++) fresh.append(x509Leaf((await entry(`old${i}.other.test`)).der, i));
      const head = JSON.parse(await (await fetch(`${fresh.url}/ct/v1/get-sth`)).text());
      await ct.saveLog({ logUrl: fresh.url, key: fresh.key, position: 13, treeSize: 13, rootHash: head.sha256_root_hash, updatedAt: new Date().toISOString() }, undefined);
      fresh.append(x509Leaf((await entry('new.shop.example.com')).der, 99));
      const result = await pollLog((await ct.getLog(fresh.url))!, deps);
      expect(result).toMatchObject({ from: 13, to: 14, unauthorized: 1 });
      expect(fresh.requests.filter((r) => r.startsWith('/ct/v1/get-entries')).length).toBe(2);
    }, 10);
  });
  it('knows its own certificate from its precertificate, by TBS identity', async () => {
    await withLog(async (fresh) => {
      const own = await makeCert({ subject: 'CN=tbs.shop.example.com', sans: ['tbs.shop.example.com'], issuer: (await makeChain(['y.example.com'])).intermediate });
      await certificates.create({ ...certificateRecord(own.der), certificatePem: own.pem, chainPem: '', status: 'active', source: 'issued', targets: [], createdAt: new Date().toISOString() } as StoredCertificate);
      const { children, readTlv } = await import('../shared/x509/der.ts');
      const tbs = children(own.der, readTlv(own.der, 0))[0];
      fresh.append(precertLeaf(Buffer.alloc(32, 9), own.der.subarray(tbs.offset, tbs.end), 1));
      await watchFrom(fresh);
      expect(await pollLog((await ct.getLog(fresh.url))!, deps)).toMatchObject({ observed: 1, unauthorized: 0 });
      expect(sent().filter((e) => e.type === 'ct.certificate_observed').map((e) => [e.entryType, e.certificateId])).toEqual([['precert', certificateRecord(own.der).id]]);
    });
  });

  it('knows a certificate its own CA issued by issuer and serial, though the logged TBS differs; another source is not enough', async () => {
    await withLog(async (fresh) => {
      const ca = (await makeChain(['z.example.com'])).intermediate;
      const issued = await makeCert({ subject: 'CN=serial.shop.example.com', sans: ['serial.shop.example.com'], issuer: ca, serialNumber: '0123456789abcdef' });
      const scanned = await makeCert({ subject: 'CN=scan.shop.example.com', sans: ['scan.shop.example.com'], issuer: ca, serialNumber: '0fedcba987654321' });
      const store = async (c: typeof issued, source: string) => certificates.create({ ...certificateRecord(c.der), certificatePem: c.pem, chainPem: '', status: 'active', source, targets: [], createdAt: new Date().toISOString() } as StoredCertificate);
      await store(issued, 'issued');
      await store(scanned, 'scan');
      // The log holds certificates with the same issuer and serials but other contents (a longer validity).
      const later = new Date(Date.now() + 200 * 86_400_000);
      fresh.append(x509Leaf((await makeCert({ subject: 'CN=serial.shop.example.com', sans: ['serial.shop.example.com'], issuer: ca, serialNumber: '0123456789abcdef', notAfter: later })).der, 1));
      fresh.append(x509Leaf((await makeCert({ subject: 'CN=scan.shop.example.com', sans: ['scan.shop.example.com'], issuer: ca, serialNumber: '0fedcba987654321', notAfter: later })).der, 2));
      await watchFrom(fresh);
      expect(await pollLog((await ct.getLog(fresh.url))!, deps)).toMatchObject({ observed: 1, unauthorized: 1 });
      expect(sent().filter((e) => e.type === 'ct.certificate_observed').map((e) => e.certificateId)).toEqual([certificateRecord(issued.der).id]);
      expect(sent().filter((e) => e.type === 'ct.unauthorized_certificate').map((e) => e.index)).toEqual([1]);
    });
  });

  it('does not take an imported copy of a certificate for one certops issued: importing it does not hide it from CT', async () => {
    await withLog(async (fresh) => {
      const rogue = await entry('rogue.shop.example.com');
      await certificates.create({ ...certificateRecord(rogue.der), certificatePem: rogue.pem, chainPem: '', status: 'discovered', source: 'import', targets: [], createdAt: new Date().toISOString() } as StoredCertificate);
      fresh.append(x509Leaf(rogue.der, 1));
      await watchFrom(fresh);
      expect(await pollLog((await ct.getLog(fresh.url))!, deps)).toMatchObject({ observed: 0, unauthorized: 1 });
    });
  });

  it('counts a malformed certificate on a watched name and goes on; findings carry serial and validity', async () => {
    await withLog(async (fresh) => {
      const broken = Buffer.from((await entry('broken.shop.example.com')).der);
      // The second UTCTime (notAfter) gets a letter among its digits.
      const times = [...broken.entries()].filter(([i, b]) => b === 0x17 && broken[i + 1] === 0x0d).map(([i]) => i);
      broken[times[1] + 4] = 0x58;
      const fine = await entry('fine.shop.example.com');
      fresh.append(x509Leaf(broken, 1));
      fresh.append(x509Leaf(fine.der, 2));
      await watchFrom(fresh);
      expect(await pollLog((await ct.getLog(fresh.url))!, deps)).toMatchObject({ to: 2, unauthorized: 1, unreadable: 1 });
      const record = certificateRecord(fine.der);
      expect(sent().find((e) => e.type === 'ct.unauthorized_certificate')).toMatchObject({ index: 1, serialNumber: record.serialNumber, notAfter: record.notAfter, issuer: record.issuer });
      expect(((await ct.listFindings({ limit: 500 })).items).find((f) => f.index === 1 && f.logUrl === fresh.url)).toMatchObject({ serialNumber: record.serialNumber, notBefore: record.notBefore, notAfter: record.notAfter });
    });
  });

  it('starts at any entry: the tree before it comes from that entry\'s audit path, checked against the signed root', async () => {
    await withLog(async (fresh) => {
      for (let i = 0; i < 13; i++) fresh.append(x509Leaf((await entry(i === 3 ? 'early.shop.example.com' : `old${i}.other.test`)).der, i));
      fresh.append(x509Leaf((await entry('late.shop.example.com')).der, 20));
      await watchFrom(fresh, 7);
      const result = await pollLog((await ct.getLog(fresh.url))!, deps);
      // Entry 3 is before the start: only entry 13 is reported.
      expect(result).toMatchObject({ from: 7, to: 14, unauthorized: 1 });
      expect(sent().filter((e) => e.type === 'ct.unauthorized_certificate').map((e) => e.index)).toEqual([13]);
      // The next poll proves the new head consistent with the root rebuilt from the path.
      fresh.append(x509Leaf((await entry('later.shop.example.com')).der, 21));
      expect(await pollLog((await ct.getLog(fresh.url))!, deps)).toMatchObject({ from: 14, to: 15, unauthorized: 1 });
    }, 10);
  });

  it('reads a long backlog in parts, each proved consistent with the signed head, and names a bad entry in a part', async () => {
    await withLog(async (fresh) => {
      for (let i = 0; i < 10; i++) fresh.append(x509Leaf((await entry(i === 6 ? 'part.shop.example.com' : `p${i}.other.test`)).der, i));
      await watchFrom(fresh);
      const parts = { ...deps, maxEntries: 4 };
      fresh.faults.flipBitInEntry = 2;
      expect((await pollLog((await ct.getLog(fresh.url))!, parts)).misbehaviour).toMatch(/entry 2 is not in it/);
      expect(sent().filter((e) => e.type === 'ct.log_misbehaviour').map((e) => e.index)).toEqual([2]);
      expect((await ct.getLog(fresh.url))!.position).toBe(0);
      fresh.faults.flipBitInEntry = -1;
      const passes = [];
      for (let i = 0; i < 3; i++) passes.push(await pollLog((await ct.getLog(fresh.url))!, parts));
      expect(passes.map((r) => [r.from, r.to, r.behind, r.unauthorized])).toEqual([[0, 4, 6, 0], [4, 8, 2, 1], [8, 10, 0, 0]]);
    }, 10);
  });

  it('finds the first entry logged at or after a date by binary search', async () => {
    const { firstEntryAt } = await import('../services/ct-monitor/start-position.ts');
    await withLog(async (fresh) => {
      const der = (await entry('t.other.test')).der;
      for (let i = 0; i < 20; i++) fresh.append(x509Leaf(der, 1_000 * i));
      const reader = new Rfc6962Client(fresh.url, new LogHttp({ attempts: 2, sleep: async () => undefined }));
      expect(await firstEntryAt(reader, 20, 7_000)).toBe(7);
      expect(await firstEntryAt(reader, 20, 6_500)).toBe(7);
      expect(await firstEntryAt(reader, 20, 0)).toBe(0);
      expect(await firstEntryAt(reader, 20, 99_000)).toBe(20);
      expect(fresh.requests.filter((r) => r.startsWith('/ct/v1/get-entries')).length).toBeLessThanOrEqual(4 * 6);
    }, 10);
  });
});

describe('a static-ct-api log', () => {
  it('reads the signed checkpoint and full and partial tiles, verifies, and finds a tampered entry with the hash tiles', async () => {
    const { startStaticLog } = await import('./support/static-ct-log.ts');
    const { logReaderFor } = await import('../adapters/ct/log-readers.ts');
    const { StaticCtClient } = await import('../adapters/ct/static-ct-client.ts');
    expect([0, 5, 999, 1000, 1234067].map(StaticCtClient.tilePath)).toEqual(['000', '005', '999', 'x001/000', 'x001/x234/067']);
    const events = mockClient(EventBridgeClient);
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const db = await freshTable();
    const log = await startStaticLog();
    try {
      const ct = new DynamoCtStateStore(db.table);
      await ct.putWatchlist(['.tiles.example.com']);
      const { leaf, intermediate } = await makeChain(['in.tiles.example.com']);
      const other = (await makeChain(['elsewhere.test'])).leaf;
      for (let i = 0; i < 300; i++) log.appendCertificate(i === 270 ? leaf.der : other.der, i, intermediate.der);
      await ct.saveLog({ logUrl: log.url, kind: 'static', key: log.key, position: 0, treeSize: 0, updatedAt: '' }, undefined);
      const deps: PollDeps = { clock: { now: () => new Date() }, ct, certificates: new DynamoCertificateStore(db.table), publisher: new EventBridgePublisher('t', { region: 'eu-west-1', credentials }), logReader: logReaderFor, batchSize: 256 };
      const result = await pollLog((await ct.getLog(log.url))!, deps);
      expect(result).toMatchObject({ from: 0, to: 300, unauthorized: 1 });
      expect(log.requests).toEqual(expect.arrayContaining(['checkpoint', 'tile/data/000', 'tile/data/001.p/44']));
      const sentTypes = () => events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail!) }));
      expect(sentTypes().find((e) => e.type === 'ct.unauthorized_certificate')).toMatchObject({ index: 270, names: ['in.tiles.example.com'] });
      // The finding names its issuing certificate, fetched by the fingerprint the data tile gives and checked against it.
      const { fingerprintSha256 } = await import('../shared/x509/certificate-record.ts');
      expect(((await ct.listFindings({ limit: 500 })).items)[0]).toMatchObject({ index: 270, issuerFingerprintSha256: fingerprintSha256(intermediate.der) });
      expect(log.requests.filter((r) => r.startsWith('issuer/'))).toEqual([`issuer/${createHash('sha256').update(intermediate.der).digest('hex')}`]);
      // More entries, one of them altered in its data tile: the hash tiles name it.
      for (let i = 0; i < 20; i++) log.appendCertificate(other.der, 300 + i);
      log.faults.flipBitInEntry = 305;
      events.resetHistory();
      const bad = await pollLog((await ct.getLog(log.url))!, deps);
      expect(bad.misbehaviour).toMatch(/entry 305 is not in it/);
      expect(sentTypes().map((e) => e.type)).toEqual(['ct.log_misbehaviour']);
      expect((await ct.getLog(log.url))!.position).toBe(300);
      // A checkpoint signed by another key is refused.
      const stranger = await startStaticLog();
      expect(await logReaderFor({ logUrl: stranger.url, kind: 'static', key: log.key }).getSth()).toEqual({});
      await stranger.close();
    } finally {
      await log.close();
      await db.close();
    }
  });

  it('starts at the end of a static log, the tree before it rebuilt from hash tiles of every level', async () => {
    const { startStaticLog } = await import('./support/static-ct-log.ts');
    const { logReaderFor } = await import('../adapters/ct/log-readers.ts');
    const { parseSth } = await import('../shared/ct/signed-tree-head.ts');
    const events = mockClient(EventBridgeClient);
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const db = await freshTable();
    const log = await startStaticLog();
    try {
      const ct = new DynamoCtStateStore(db.table);
      await ct.putWatchlist(['.tiles.example.com']);
      const other = (await makeChain(['elsewhere.test'])).leaf;
      // 600 = 512 + 64 + 16 + 8: one subtree from two level-1 hashes, three from level-0 hashes.
      for (let i = 0; i < 600; i++) log.appendCertificate(i === 10 ? (await makeChain(['old.tiles.example.com'])).leaf.der : other.der, i);
      const head = parseSth(await logReaderFor({ logUrl: log.url, kind: 'static', key: log.key }).getSth())!;
      await ct.saveLog({ logUrl: log.url, kind: 'static', key: log.key, position: 600, treeSize: 600, rootHash: head.rootHash.toString('base64'), updatedAt: '' }, undefined);
      log.appendCertificate((await makeChain(['new.tiles.example.com'])).leaf.der, 600);
      const deps: PollDeps = { clock: { now: () => new Date() }, ct, certificates: new DynamoCertificateStore(db.table), publisher: new EventBridgePublisher('t', { region: 'eu-west-1', credentials }), logReader: logReaderFor, batchSize: 256 };
      log.requests.length = 0;
      expect(await pollLog((await ct.getLog(log.url))!, deps)).toMatchObject({ from: 600, to: 601, unauthorized: 1 });
      expect(log.requests).toEqual(expect.arrayContaining(['tile/1/000.p/2', 'tile/0/002.p/89', 'tile/data/002.p/89']));
      expect(log.requests.filter((r) => r.startsWith('tile/data/'))).toEqual(['tile/data/002.p/89']);
    } finally {
      await log.close();
      await db.close();
    }
  });
});
