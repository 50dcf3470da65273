import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, optionalBoolean } from '../../shared/input.ts';
import type { Role, Scan } from '../../shared/model.ts';
import { checkScanTargets, scanSlots, type ScanLimits } from '../../shared/scan-limits.ts';
import { TooManyRequestsError } from '../../shared/errors.ts';
import type { Clock, LockStore, ScanStore } from '../../shared/ports.ts';
import { expandTargets, type ScanEndpoint } from '../../shared/scan-targets.ts';
import { planScan, type ScanWorkDeps } from './scan-work.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { INVENTORY } from './announcements.ts';

export interface RequestScanDeps extends AnnounceDeps {
  clock: Clock;
  newId(): string;
  scans: ScanStore;
  /** What callers below admin may scan, and how long a scan may run at most (milliseconds). */
  scanLimits: ScanLimits;
  totalTimeMs: number;
  locks: LockStore;
}

/**
 * POST /scans: checks the targets (and, for callers below admin, the scan limits), records the
 * scan as running and hands it to the scan worker through the bus.
 */
export async function requestScan(body: unknown, caller: { name: string; role: Role }, deps: RequestScanDeps): Promise<Scan> {
  const requestedBy = caller.name;
  const obj = asObject(body);
  const ports = obj.ports ?? [443];
  const scanId = `scan-${deps.newId()}`;
  let endpoints: ScanEndpoint[];
  let slot: string | undefined;
  if (caller.role === 'admin') endpoints = expandTargets(obj.targets, ports);
  else {
    // A caller below admin may not make the suite expand more than its limit allows: the first
    // endpoints past it are checked against the ranges and ports (403), else it is a 429.
    const retryAfter = await retryAfterSeconds(requestedBy, deps);
    endpoints = expandTargets(obj.targets, ports, 'targets', deps.scanLimits.maxAddresses, (max, first) => {
      checkScanTargets(first.slice(0, max), deps.scanLimits, retryAfter);
      return new TooManyRequestsError(`targets: more than ${max} endpoints in one scan (inventory.scanLimits.maxAddresses); split it, or ask an admin`, 'targets', retryAfter);
    });
    checkScanTargets(endpoints, deps.scanLimits, retryAfter);
    slot = await takeScanSlot(requestedBy, scanId, retryAfter, deps);
  }
  const legacyProtocols = obj.legacyProtocols === undefined ? true : optionalBoolean(obj, 'legacyProtocols');
  const scan: Scan = {
    scanId,
    status: 'running',
    targets: obj.targets as string[],
    ports: (ports as unknown[]).map(Number),
    total: endpoints.length,
    done: 0,
    startedAt: deps.clock.now().toISOString(),
    requestedBy,
    legacyProtocols,
    ...(slot ? { slot } : {}),
  };
  const requested = newEvent('scan.requested', { scanId: scan.scanId, targets: scan.targets, ports: scan.ports, requestedBy, legacyProtocols }, { now: () => new Date(scan.startedAt), newId: deps.newId, correlationId: scan.scanId });
  await announceAfter(INVENTORY, [requested], () => deps.scans.create(scan), deps);
  return scan;
}

/** Seconds until the caller's first running scan must have ended (a minute when none runs). */
async function retryAfterSeconds(requestedBy: string, deps: RequestScanDeps): Promise<number> {
  const now = deps.clock.now();
  const running = await deps.scans.runningBy(requestedBy, new Date(now.getTime() - deps.totalTimeMs));
  const firstEnd = Math.min(...running.map((s) => Date.parse(s.startedAt) + deps.totalTimeMs), now.getTime() + 60_000);
  return Math.max(1, Math.ceil((firstEnd - now.getTime()) / 1000));
}

/**
 * One of the caller's scan slots (a lock held for the scan's longest run, released when it ends),
 * or a 429 when all are taken: conditional writes, so a burst gets no more through than one
 * request at a time would.
 */
async function takeScanSlot(requestedBy: string, scanId: string, retryAfter: number, deps: RequestScanDeps): Promise<string> {
  const until = new Date(deps.clock.now().getTime() + deps.totalTimeMs);
  for (const slot of scanSlots(requestedBy, deps.scanLimits)) {
    if (await deps.locks.acquire(slot, scanId, until)) return slot;
  }
  throw new TooManyRequestsError(`your scans running now are as many as inventory.scanLimits.maxConcurrentScans (${deps.scanLimits.maxConcurrentScans}); try again when one has finished`, 'targets', retryAfter);
}

/** The schedule: a scan of the configured targets, split into chunks for the scan workers. */
export async function scheduledScan(targets: string[], ports: number[], deps: ScanWorkDeps): Promise<Scan | undefined> {
  if (targets.length === 0) return undefined;
  const endpoints = expandTargets(targets, ports, 'inventory.scanTargets');
  // Named by the hour: a retried schedule plans the scan it created, never a second one.
  const now = deps.clock.now();
  const scan: Scan = { scanId: `scan-schedule-${now.toISOString().slice(0, 13).replace(/[-:T]/g, '')}`, status: 'running', targets, ports, total: endpoints.length, done: 0, startedAt: now.toISOString(), requestedBy: 'schedule' };
  await deps.scans.create(scan);
  return planScan(scan.scanId, deps);
}
