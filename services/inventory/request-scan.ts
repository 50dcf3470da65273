import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, optionalBoolean } from '../../shared/input.ts';
import type { Role, Scan } from '../../shared/model.ts';
import { checkScanLimits, type ScanLimits } from '../../shared/scan-limits.ts';
import type { Clock, EventPublisher, ScanStore } from '../../shared/ports.ts';
import { expandTargets } from '../../shared/scan-targets.ts';
import { runScan, type ScanDeps } from './run-scan.ts';

export interface RequestScanDeps {
  clock: Clock;
  newId(): string;
  scans: ScanStore;
  publisher: EventPublisher;
  /** What callers below admin may scan, and how long a scan may run at most (milliseconds). */
  scanLimits: ScanLimits;
  totalTimeMs: number;
}

/**
 * POST /scans: checks the targets (and, for callers below admin, the scan limits), records the
 * scan as running and hands it to the scan worker through the bus.
 */
export async function requestScan(body: unknown, caller: { name: string; role: Role }, deps: RequestScanDeps): Promise<Scan> {
  const requestedBy = caller.name;
  const obj = asObject(body);
  const ports = obj.ports ?? [443];
  const endpoints = expandTargets(obj.targets, ports);
  if (caller.role !== 'admin') {
    const now = deps.clock.now();
    checkScanLimits(endpoints, await deps.scans.runningBy(requestedBy, new Date(now.getTime() - deps.totalTimeMs)), deps.scanLimits, now, deps.totalTimeMs);
  }
  const legacyProtocols = obj.legacyProtocols === undefined ? true : optionalBoolean(obj, 'legacyProtocols');
  const scan: Scan = {
    scanId: `scan-${deps.newId()}`,
    status: 'running',
    targets: obj.targets as string[],
    ports: (ports as unknown[]).map(Number),
    total: endpoints.length,
    done: 0,
    startedAt: deps.clock.now().toISOString(),
    requestedBy,
    legacyProtocols,
  };
  await deps.scans.create(scan);
  await deps.publisher.publish([newEvent('scan.requested', { scanId: scan.scanId, targets: scan.targets, ports: scan.ports, requestedBy, legacyProtocols }, { now: () => deps.clock.now(), newId: deps.newId, correlationId: scan.scanId })]);
  return scan;
}

/** scan.requested → the scan the store holds under its id runs (its targets and options, never the event's); a replay of a finished scan changes nothing. */
export async function performScan(detail: Record<string, unknown>, deps: Omit<ScanDeps, 'checkLegacyProtocols'>): Promise<Scan | undefined> {
  const found = await deps.scans.get(String(detail.scanId));
  if (!found || found.scan.status === 'completed') return found?.scan;
  const endpoints = expandTargets(found.scan.targets, found.scan.ports);
  try {
    return await runScan(found.scan, endpoints, { ...deps, checkLegacyProtocols: found.scan.legacyProtocols !== false });
  } catch (err) {
    await deps.scans.update(found.scan.scanId, { status: 'failed', error: (err as Error).message, finishedAt: deps.clock.now().toISOString() });
    throw err;
  }
}

/** The schedule: a scan of the configured targets, run here and now. */
export async function scheduledScan(targets: string[], ports: number[], deps: Omit<ScanDeps, 'checkLegacyProtocols'> & RequestScanDeps): Promise<Scan | undefined> {
  if (targets.length === 0) return undefined;
  const endpoints = expandTargets(targets, ports, 'inventory.scanTargets');
  const scan: Scan = { scanId: `scan-${deps.newId()}`, status: 'running', targets, ports, total: endpoints.length, done: 0, startedAt: deps.clock.now().toISOString(), requestedBy: 'schedule' };
  await deps.scans.create(scan);
  return runScan(scan, endpoints, { ...deps, checkLegacyProtocols: true });
}
