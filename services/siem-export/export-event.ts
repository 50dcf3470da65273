import type { BusEvent } from '../../shared/events/envelope.ts';
import type { AuditTrail, Clock, LockStore, OutboxEntry, ProcessedEvents, SiemOutbox } from '../../shared/ports.ts';
import { randomUUID } from 'node:crypto';
import { withLease } from '../../shared/lease.ts';
import type { SinkConfig } from '../../shared/siem-config.ts';
import { formatForSink } from './format-event.ts';
import { atLeast, severityOf } from './formats/severity.ts';

export interface SendResult {
  ok: boolean;
  retryAfterMs?: number;
  error?: string;
}

export interface ExportDeps {
  clock: Clock;
  /** One flusher per sink at a time, or two would send the same batch. */
  locks: LockStore;
  processed: ProcessedEvents;
  audit: AuditTrail;
  outbox: SiemOutbox;
  sinks: SinkConfig[];
  /** Sends a batch of records to a sink (HTTP, syslog or file). */
  send(sink: SinkConfig, records: string[]): Promise<SendResult>;
  /** 0..1, for jitter (Math.random on AWS; fixed in tests). */
  random(): number;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

const BASE_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15 * 60_000;

function accepts(sink: SinkConfig, event: BusEvent): boolean {
  return (sink.eventTypes.length === 0 || sink.eventTypes.includes(event.detailType)) && atLeast(severityOf(event), sink.minSeverity);
}

/**
 * An event leaves certops once: appended to the audit trail, queued in the outbox of every sink
 * that wants it, then delivered as each sink's batching allows. A replay (same eventId) is dropped.
 */
export async function exportEvent(event: BusEvent, deps: ExportDeps): Promise<boolean> {
  const id = String(event.detail.eventId);
  // Two copies of one event (a redelivery, and a producer that published it again after a crash)
  // may arrive at once: the second waits for the first, under the event's lease, and then finds
  // it done. A copy that finds the lease taken is retried by its delivery.
  const exported = await withLease(deps.locks, deps.clock, `siem-event/${id}`, randomUUID(), async () => {
    if (await deps.processed.seen('siem-export', id)) return false;
    // The trail keeps the first copy: the outbox is filled from what it recorded.
    const record = await deps.audit.append({ eventId: id, detailType: event.detailType, source: event.source, occurredAt: String(event.detail.occurredAt), certificateId: event.detail.certificateId as string | undefined, detail: event.detail });
    const first: BusEvent = { ...event, detailType: record.detailType, source: record.source, detail: record.detail as BusEvent['detail'] };
    const now = deps.clock.now().toISOString();
    for (const sink of deps.sinks.filter((s) => accepts(s, first))) {
      await deps.outbox.add(sink.name, { id, payload: formatForSink(sink, first), createdAt: String(record.occurredAt ?? now), attempts: 0, nextAttemptAt: now });
    }
    deps.crashPoint?.('siem:after-outbox');
    await deps.processed.remember('siem-export', id);
    return true;
  });
  // Not a refusal (a 4xx is acknowledged and dropped): an error the delivery retries, so this copy
  // comes back once the other let go, and finds the event exported or exports it itself.
  if (!exported) throw new Error(`event ${id} is being exported by another delivery; this one is retried`);
  if (exported.value) for (const sink of deps.sinks) await flushSink(sink, deps, false);
  return exported.value;
}

/**
 * Delivers what is due to one sink under its flush lease (a flusher that finds it taken leaves
 * the work to the holder, which looks again after letting go, so nothing queued meanwhile waits;
 * a holder that died lets go within a minute).
 */
export async function flushSink(sink: SinkConfig, deps: ExportDeps, force: boolean): Promise<{ sent: number; failed: number }> {
  const totals = { sent: 0, failed: 0 };
  const lock = `siem/${sink.name}`;
  const owner = randomUUID();
  for (let round = 0; round < 10; round++) {
    const held = await withLease(deps.locks, deps.clock, lock, owner, () => deliverDue(sink, deps, force));
    if (!held) return totals;
    const outcome = held.value;
    totals.sent += outcome.sent;
    totals.failed += outcome.failed;
    if (outcome.stoppedOnFailure || (await deps.outbox.due(sink.name, deps.clock.now(), 1)).length === 0) return totals;
    if (!force && (await deps.outbox.due(sink.name, deps.clock.now(), sink.batchSize)).length < sink.batchSize) return totals;
  }
  return totals;
}

/**
 * Batch by batch: a batch goes when it is full or its oldest event has waited batchMs (`force`
 * sends whatever is due). A failed batch waits an exponential, jittered backoff, or as long as
 * Retry-After asked; after maxAttempts it becomes dead letters.
 */
async function deliverDue(sink: SinkConfig, deps: ExportDeps, force: boolean): Promise<{ sent: number; failed: number; stoppedOnFailure: boolean }> {
  const totals = { sent: 0, failed: 0, stoppedOnFailure: false };
  const paused = await deps.outbox.pausedUntil(sink.name);
  if (paused && paused > deps.clock.now()) return { ...totals, stoppedOnFailure: true };
  for (;;) {
    const now = deps.clock.now();
    const batch = await deps.outbox.due(sink.name, now, sink.batchSize);
    if (batch.length === 0) return totals;
    const oldest = Date.parse(batch[0].createdAt);
    if (!force && batch.length < sink.batchSize && now.getTime() - oldest < sink.batchMs) return totals;
    const result = await deps.send(sink, batch.map((e) => e.payload));
    if (result.ok) {
      await deps.outbox.remove(sink.name, batch);
      totals.sent += batch.length;
      continue;
    }
    totals.failed += batch.length;
    const attempts = batch[0].attempts + 1;
    const backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempts - 1)) * (0.5 + deps.random() / 2);
    const wait = Math.max(backoff, result.retryAfterMs ?? 0);
    const next: OutboxEntry[] = batch.map((e) => ({ ...e, attempts, nextAttemptAt: new Date(now.getTime() + wait).toISOString(), lastError: result.error }));
    // The receiver is down or busy: hold the whole sink, not just this batch.
    await deps.outbox.pause(sink.name, new Date(now.getTime() + wait));
    if (attempts >= sink.maxAttempts) await deps.outbox.deadLetter(sink.name, next);
    else await deps.outbox.reschedule(sink.name, next);
    return { ...totals, stoppedOnFailure: true };
  }
}

/** Scheduled: every sink gets whatever is due, full batch or not. */
export async function flushAll(deps: ExportDeps) {
  const out: Record<string, { sent: number; failed: number }> = {};
  for (const sink of deps.sinks) out[sink.name] = await flushSink(sink, deps, true);
  return out;
}
