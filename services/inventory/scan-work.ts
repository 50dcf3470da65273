import { newEvent } from '../../shared/events/envelope.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { Scan } from '../../shared/model.ts';
import type { LockStore } from '../../shared/ports.ts';
import { expandTargets } from '../../shared/scan-targets.ts';
import { scanEndpoints, type ScanDeps } from './run-scan.ts';

/** What splitting and running scans in chunks needs: the scan worker's, and how many endpoints a chunk holds at most. */
export type ScanWorkDeps = Omit<ScanDeps, 'checkLegacyProtocols'> & { locks: LockStore; chunkSize: number };

const chunkCount = (total: number, chunkSize: number) => Math.max(1, Math.ceil(total / chunkSize));

/**
 * scan.requested → the scan the store holds under that id is split into chunks of at most
 * `chunkSize` endpoints, one scan.chunk_requested each, which scan workers take from their queue
 * in parallel. Its targets are read from the store, never from the event; a replay re-announces
 * the same chunks (their event ids are the scan's and the chunk's), which workers take once.
 */
export async function planScan(scanId: string, deps: ScanWorkDeps): Promise<Scan | undefined> {
  const scan = await deps.scans.get(scanId);
  if (!scan || scan.status !== 'running') return scan;
  const chunks = chunkCount(scan.total, deps.chunkSize);
  await deps.scans.update(scan.scanId, { chunks });
  const now = deps.clock.now();
  await deps.publisher.publish(Array.from({ length: chunks }, (_, chunk) => newEvent('scan.chunk_requested', { scanId, chunk, chunks }, { now: () => now, newId: () => `scan-chunk:${scanId}:${chunk}`, correlationId: scanId })));
  return { ...scan, chunks };
}

/**
 * scan.chunk_requested → the chunk's endpoints (the scan's targets from the store, expanded, the
 * chunk's slice) are scanned and the chunk recorded as finished; the worker that finds every
 * chunk finished ends the scan. A chunk finished before (a redelivery) is not scanned again, but
 * still looks for the end, in case the worker that finished it died before it could.
 */
export async function scanChunk(detail: Record<string, unknown>, deps: ScanWorkDeps): Promise<Scan | undefined> {
  const scan = await deps.scans.get(String(detail.scanId));
  if (!scan?.chunks || scan.status !== 'running') return scan;
  const chunk = detail.chunk;
  if (!Number.isInteger(chunk) || (chunk as number) < 0 || (chunk as number) >= scan.chunks) throw new ValidationError(`chunk must be an integer from 0 to ${scan.chunks - 1}`, 'chunk');
  const n = chunk as number;
  const recorded = await deps.scans.chunks(scan.scanId);
  if (!recorded.some((c) => c.chunk === n && c.outcome)) {
    const size = Math.ceil(scan.total / scan.chunks);
    const endpoints = expandTargets(scan.targets, scan.ports).slice(n * size, (n + 1) * size);
    const outcome = await scanEndpoints(scan, endpoints, { ...deps, checkLegacyProtocols: scan.legacyProtocols !== false }, (done) => deps.scans.chunkProgress(scan.scanId, n, done));
    await deps.scans.finishChunk(scan.scanId, { chunk: n, done: endpoints.length, outcome });
  }
  return endIfFinished(scan, deps);
}

/** The scan's progress: endpoints done over all chunks (what a running scan's `done` says). */
export async function scanProgress(scan: Scan, deps: Pick<ScanWorkDeps, 'scans'>): Promise<Scan> {
  if (scan.status !== 'running' || !scan.chunks) return scan;
  const chunks = await deps.scans.chunks(scan.scanId);
  return { ...scan, done: chunks.reduce((sum, c) => sum + c.done, 0) };
}

/**
 * Once every chunk is finished: the scan completed with its counts, scan.completed, and the
 * caller's scan slot given back. Two workers finishing the last chunks at once may both get
 * here: the first sets the counts, and both announce under the same event id.
 */
async function endIfFinished(scan: Scan, deps: ScanWorkDeps): Promise<Scan> {
  const outcomes = (await deps.scans.chunks(scan.scanId)).flatMap((c) => (c.outcome ? [c.outcome] : []));
  if (outcomes.length < scan.chunks!) return scan;
  const sum = (field: 'newCertificates' | 'changed' | 'failures') => outcomes.reduce((total, o) => total + o[field], 0);
  const counts = { endpoints: scan.total, certificates: new Set(outcomes.flatMap((o) => o.certificateIds)).size, newCertificates: sum('newCertificates'), changed: sum('changed'), failures: sum('failures') };
  const finished: Partial<Scan> = { status: 'completed', done: scan.total, finishedAt: deps.clock.now().toISOString(), counts };
  await deps.scans.finish(scan.scanId, finished);
  const completed = (await deps.scans.get(scan.scanId)) ?? { ...scan, ...finished };
  await deps.publisher.publish([newEvent('scan.completed', { scanId: scan.scanId, endpoints: counts.endpoints, certificates: counts.certificates, newCertificates: counts.newCertificates, failures: counts.failures }, { now: () => deps.clock.now(), newId: () => `scan-completed:${scan.scanId}`, correlationId: scan.scanId })]);
  if (scan.slot) await deps.locks.release(scan.slot, scan.scanId);
  return completed;
}
