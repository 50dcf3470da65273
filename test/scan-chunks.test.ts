import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoScanStore } from '../adapters/dynamodb/scan-store.ts';
import { planScan, scanChunk, scanProgress, type ScanWorkDeps } from '../services/inventory/scan-work.ts';
import { scheduledScan } from '../services/inventory/request-scan.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { Scan } from '../shared/model.ts';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { freshTable } from './support/dynamo.ts';
import { makeChain } from './support/pki.ts';

/**
 * A scan's chunks under at-least-once delivery: a worker that dies anywhere, a publication that
 * fails, a chunk tried again long after the scan started. The stores are the real ones (the
 * embedded table); the TLS handshakes and the bus are answered here.
 */
describe('scan chunks, redelivered', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let chain: Awaited<ReturnType<typeof makeChain>>;
  beforeAll(async () => {
    db = await freshTable();
    chain = await makeChain(['chunks.example.test']);
  });
  afterAll(() => db.close());

  const harness = (now = { at: Date.now() }) => {
    const published: BusEvent[] = [];
    const clock = { now: () => new Date(now.at) };
    const deps: ScanWorkDeps = {
      clock, ownership: [], certificates: new DynamoCertificateStore(db.table), scans: new DynamoScanStore(db.table), locks: new DynamoLockStore(db.table, clock),
      publisher: { publish: async (events) => void published.push(...events) },
      scanner: async () => ({ chain: [chain.leaf.der, chain.intermediate.der], protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }),
      trustedRoots: async () => [parseCertificate(chain.root.der)],
      concurrency: 2, timeoutMs: 1000, totalTimeMs: 600_000, chunkSize: 2,
      revocationFetcher: { crl: async () => new Uint8Array(), ocsp: async () => new Uint8Array() },
      ocspNonce: () => new Uint8Array(16),
    };
    return { deps, published, now };
  };
  const started = async (deps: ScanWorkDeps, scanId: string, targets: string[], slot?: string) => {
    const scan: Scan = { scanId, status: 'running', targets, ports: [443], total: targets.length, done: 0, startedAt: deps.clock.now().toISOString(), requestedBy: 'alice', legacyProtocols: false, ...(slot ? { slot } : {}) };
    await deps.scans.create(scan);
    if (slot) await deps.locks.acquire(slot, scanId, new Date(deps.clock.now().getTime() + 600_000));
    await planScan(scanId, deps);
  };
  const soon = (deps: ScanWorkDeps) => deps.clock.now().getTime() + 30_000;
  const completions = (published: BusEvent[], scanId: string) => published.filter((e) => e.detailType === 'scan.completed' && e.detail.scanId === scanId);

  it('announces scan.completed and frees the slot on the redelivery when the first announcement failed', async () => {
    const { deps, published } = harness();
    const publish = deps.publisher.publish;
    let throttled = 1;
    deps.publisher = { publish: async (events) => (events.some((e) => e.detailType === 'scan.completed') && throttled-- > 0 ? Promise.reject(new Error('ThrottlingException')) : publish(events)) };
    await started(deps, 'scan-announce', ['10.0.0.1'], 'scan-slot:alice:0');
    await expect(scanChunk({ scanId: 'scan-announce', chunk: 0 }, soon(deps), deps)).rejects.toThrow('Throttling');
    expect((await deps.scans.get('scan-announce'))?.status).toBe('running');
    const ended = await scanChunk({ scanId: 'scan-announce', chunk: 0 }, soon(deps), deps);
    expect(ended).toMatchObject({ status: 'completed', counts: { endpoints: 1, certificates: 1 } });
    expect(completions(published, 'scan-announce')).toHaveLength(1);
    expect(await deps.locks.holder('scan-slot:alice:0')).toBeUndefined();
  });

  it('counts a certificate first recorded by a run that died as new, and a chunk tried again long after the scan started is scanned again', async () => {
    const { deps, published, now } = harness();
    const store = deps.scans as DynamoScanStore;
    const finishChunk = store.finishChunk.bind(store);
    let dies = 1;
    store.finishChunk = async (id, chunk) => (chunk.outcome && dies-- > 0 ? Promise.reject(new Error('worker killed')) : finishChunk(id, chunk));
    const other = await makeChain(['late.example.test']);
    deps.scanner = async () => ({ chain: [other.leaf.der, other.intermediate.der], protocol: 'TLSv1.3' });
    deps.trustedRoots = async () => [parseCertificate(other.root.der)];
    await started(deps, 'scan-late', ['10.0.0.2']);
    await expect(scanChunk({ scanId: 'scan-late', chunk: 0 }, soon(deps), deps)).rejects.toThrow('worker killed');
    // The failed run is shown, and the queue brings the chunk back after its visibility timeout (30 minutes).
    expect((await scanProgress((await deps.scans.get('scan-late'))!, deps)).failingChunks).toEqual([{ chunk: 0, error: 'worker killed' }]);
    now.at += 31 * 60_000;
    const ended = await scanChunk({ scanId: 'scan-late', chunk: 0 }, soon(deps), deps);
    expect(ended?.counts).toMatchObject({ endpoints: 1, certificates: 1, newCertificates: 1, failures: 0 });
    expect((await deps.scans.results('scan-late', { limit: 10 })).items[0]).toMatchObject({ host: '10.0.0.2', certificateId: expect.any(String) });
    expect(completions(published, 'scan-late')[0].detail).toMatchObject({ newCertificates: 1, failures: 0 });
  });

  it('reports what a chunk could not reach by its deadline, and ends the scan once every chunk is in, whatever their order', async () => {
    const { deps, published } = harness();
    await started(deps, 'scan-order', ['10.0.1.1', '10.0.1.2', '10.0.1.3']);
    expect((await deps.scans.get('scan-order'))?.chunks).toBe(2);
    expect((await scanChunk({ scanId: 'scan-order', chunk: 1 }, deps.clock.now().getTime() - 1, deps))?.status).toBe('running');
    const ended = await scanChunk({ scanId: 'scan-order', chunk: 0 }, soon(deps), deps);
    expect(ended?.counts).toMatchObject({ endpoints: 3, failures: 1 });
    const results = (await deps.scans.results('scan-order', { limit: 10 })).items;
    expect(results.find((r) => r.host === '10.0.1.3')?.error).toMatch(/^not scanned/);
    // A chunk delivered again after the end changes nothing.
    await scanChunk({ scanId: 'scan-order', chunk: 1 }, soon(deps), deps);
    expect(completions(published, 'scan-order')).toHaveLength(1);
  });

  it('plans the scheduled scan once an hour, however often the schedule runs (a retried invocation)', async () => {
    const { deps, published } = harness({ at: Date.parse('2027-02-01T10:15:00Z') });
    const first = await scheduledScan(['10.0.2.0/29'], [443], deps);
    const again = await scheduledScan(['10.0.2.0/29'], [443], deps);
    expect(first).toMatchObject({ scanId: 'scan-schedule-2027020110', chunks: 3, total: 6, requestedBy: 'schedule' });
    expect(again?.scanId).toBe(first?.scanId);
    expect(new Set(published.filter((e) => e.detailType === 'scan.chunk_requested').map((e) => e.detail.eventId))).toEqual(new Set(['scan-chunk:scan-schedule-2027020110:0', 'scan-chunk:scan-schedule-2027020110:1', 'scan-chunk:scan-schedule-2027020110:2']));
  });
});
