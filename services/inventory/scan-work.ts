import { newEvent } from '../../shared/events/envelope.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { Scan } from '../../shared/model.ts';
import type { LockStore } from '../../shared/ports.ts';
import { expandTargets } from '../../shared/scan-targets.ts';
import { scanEndpoints, type ScanDeps } from './run-scan.ts';

/**
 * What splitting and running scans in chunks needs: the scan worker's, how many endpoints a chunk
 * holds at most, and the longest a chunk's run may take (milliseconds; less when the function's
 * own time left is shorter).
 */
export type ScanWorkDeps = Omit<ScanDeps, 'checkLegacyProtocols'> & { locks: LockStore; chunkSize: number; totalTimeMs: number };

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
 * chunk's slice) are scanned until `deadline` (epoch milliseconds; what is not reached by then is
 * reported, not scanned) and the chunk recorded as finished; the worker that finds every chunk
 * finished ends the scan. A chunk finished before (a redelivery) is not scanned again, but still
 * looks for the end, in case the worker that finished it died before it could. A chunk that
 * fails records why on its item (GET /scans/{id} shows it) and is tried again by its queue.
 */
export async function scanChunk(detail: Record<string, unknown>, deadline: number, deps: ScanWorkDeps): Promise<Scan | undefined> {
  const scan = await deps.scans.get(String(detail.scanId));
  if (!scan?.chunks) return scan;
  // Ended: only its slot may still be held (the worker that ended it died before giving it back).
  if (scan.status !== 'running') return releaseSlot(scan, deps).then(() => scan);
  const chunk = detail.chunk;
  if (!Number.isInteger(chunk) || (chunk as number) < 0 || (chunk as number) >= scan.chunks) throw new ValidationError(`chunk must be an integer from 0 to ${scan.chunks - 1}`, 'chunk');
  const n = chunk as number;
  const recorded = await deps.scans.chunks(scan.scanId);
  if (!recorded.some((c) => c.chunk === n && c.outcome)) {
    const size = Math.ceil(scan.total / scan.chunks);
    const endpoints = expandTargets(scan.targets, scan.ports).slice(n * size, (n + 1) * size);
    try {
      const outcome = await scanEndpoints(scan, endpoints, deadline, { ...deps, checkLegacyProtocols: scan.legacyProtocols !== false }, (done) => deps.scans.chunkProgress(scan.scanId, n, done));
      await deps.scans.finishChunk(scan.scanId, { chunk: n, done: endpoints.length, outcome });
    } catch (err) {
      await deps.scans.finishChunk(scan.scanId, { chunk: n, done: 0, error: String((err as Error)?.message ?? err).slice(0, 300) }).catch(() => undefined);
      throw err;
    }
  }
  return endIfFinished(scan, deps);
}

/** The scan's progress: endpoints done over all chunks (what a running scan's `done` says), and the chunks that failed and wait to be tried again. */
export async function scanProgress(scan: Scan, deps: Pick<ScanWorkDeps, 'scans'>): Promise<Scan & { failingChunks?: { chunk: number; error: string }[] }> {
  if (scan.status !== 'running' || !scan.chunks) return scan;
  const chunks = await deps.scans.chunks(scan.scanId);
  const failing = chunks.flatMap((c) => (c.error && !c.outcome ? [{ chunk: c.chunk, error: c.error }] : []));
  return { ...scan, done: chunks.reduce((sum, c) => sum + c.done, 0), ...(failing.length ? { failingChunks: failing } : {}) };
}

/**
 * Once every chunk is finished: scan.completed with the counts, then the scan marked completed,
 * then the caller's scan slot given back. In that order, so a worker that dies on the way leaves
 * the scan running and the redelivery of its chunk does it all again (under the same event id).
 * New certificates are those the inventory first recorded since the scan started (whichever run
 * of a chunk recorded them). Two workers finishing the last chunks at once both get here: both
 * announce under the same event id, and the first marks it completed.
 */
async function endIfFinished(scan: Scan, deps: ScanWorkDeps): Promise<Scan> {
  const outcomes = (await deps.scans.chunks(scan.scanId)).flatMap((c) => (c.outcome ? [c.outcome] : []));
  if (outcomes.length < scan.chunks!) return scan;
  const found = [...new Set(outcomes.flatMap((o) => o.certificateIds))];
  const stored = await deps.certificates.getMany(found);
  const newCertificates = stored.filter((c) => c && c.createdAt >= scan.startedAt).length;
  const sum = (field: 'changed' | 'failures') => outcomes.reduce((total, o) => total + o[field], 0);
  const counts = { endpoints: scan.total, certificates: found.length, newCertificates, changed: sum('changed'), failures: sum('failures') };
  await deps.publisher.publish([newEvent('scan.completed', { scanId: scan.scanId, endpoints: counts.endpoints, certificates: counts.certificates, newCertificates: counts.newCertificates, failures: counts.failures }, { now: () => deps.clock.now(), newId: () => `scan-completed:${scan.scanId}`, correlationId: scan.scanId })]);
  const finished: Partial<Scan> = { status: 'completed', done: scan.total, finishedAt: deps.clock.now().toISOString(), counts };
  await deps.scans.finish(scan.scanId, finished);
  await releaseSlot(scan, deps);
  return (await deps.scans.get(scan.scanId)) ?? { ...scan, ...finished };
}

const releaseSlot = async (scan: Scan, deps: Pick<ScanWorkDeps, 'locks'>) => {
  if (scan.slot) await deps.locks.release(scan.slot, scan.scanId);
};
