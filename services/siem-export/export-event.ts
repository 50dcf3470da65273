import { newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import type { AuditTrail, Clock, EventPublisher, LockStore, OutboxEntry, SiemOutbox } from '../../shared/ports.ts';
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
  audit: AuditTrail;
  outbox: SiemOutbox;
  sinks: SinkConfig[];
  /** Sends a batch of records to a sink (HTTP, syslog or file). */
  send(sink: SinkConfig, records: string[]): Promise<SendResult>;
  /** 0..1, for jitter (Math.random on AWS; fixed in tests). */
  random(): number;
  /** Where siem.sink_failing goes when a sink dead-letters a batch. */
  publisher: EventPublisher;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

const BASE_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15 * 60_000;

function accepts(sink: SinkConfig, event: BusEvent): boolean {
  return (sink.eventTypes.length === 0 || sink.eventTypes.includes(event.detailType)) && atLeast(severityOf(event), sink.minSeverity);
}

/**
 * Events leave certops once: queued in the outbox of every sink that wants them, then appended to
 * the audit trail (the commit: an event the trail holds is exported), then delivered as each
 * sink's batching allows. An event the trail already holds (a redelivery, or a producer that
 * published it again after a crash) is dropped; two copies in one batch go once. A crash between
 * the outbox and the trail queues the same entries again on the retry, under the same keys.
 * @returns for each event, whether this call exported it (false: it was exported before).
 */
export async function exportEvents(events: BusEvent[], deps: ExportDeps): Promise<boolean[]> {
  const ids = events.map((e) => String(e.detail.eventId));
  const recorded = await deps.audit.recorded(ids);
  const taken = new Set<string>();
  const fresh = events.filter((_, i) => !recorded.has(ids[i]) && !taken.has(ids[i]) && taken.add(ids[i]));
  if (fresh.length === 0) return events.map(() => false);
  const now = deps.clock.now().toISOString();
  // The outbox entry and the trail's record carry the same time: a flusher tells by it which copy
  // of an event the trail committed. In UTC as toISOString writes it (the outbox names its pages
  // by such times); an event from outside that states no time, or no date, gets the export's.
  const occurredAt = (e: BusEvent) => {
    const stated = Date.parse(String(e.detail.occurredAt));
    return Number.isNaN(stated) ? now : new Date(stated).toISOString();
  };
  for (const sink of deps.sinks) {
    const entries = fresh.filter((e) => accepts(sink, e)).map((e) => ({ id: String(e.detail.eventId), payload: formatForSink(sink, e), createdAt: occurredAt(e), attempts: 0, nextAttemptAt: now }));
    if (entries.length) await deps.outbox.addAll(sink.name, entries);
  }
  deps.crashPoint?.('siem:after-outbox');
  await deps.audit.appendAll(fresh.map((e) => ({ eventId: String(e.detail.eventId), detailType: e.detailType, source: e.source, occurredAt: occurredAt(e), certificateId: e.detail.certificateId as string | undefined, detail: e.detail })));
  for (const sink of deps.sinks) await flushSink(sink, deps, false);
  const exported = new Set(fresh);
  return events.map((e) => exported.has(e));
}

/** One event: see exportEvents. */
export async function exportEvent(event: BusEvent, deps: ExportDeps): Promise<boolean> {
  return (await exportEvents([event], deps))[0];
}

/**
 * Delivers what is due to one sink under its flush lease (a flusher that finds it taken leaves
 * the work to the holder, which looks again after letting go, so nothing queued meanwhile waits;
 * a holder that died lets go within a minute). The lease is taken only when a batch is ready to
 * go: in a burst, most exports find that another flusher already took their event.
 */
export async function flushSink(sink: SinkConfig, deps: ExportDeps, force: boolean): Promise<{ sent: number; failed: number }> {
  const totals = { sent: 0, failed: 0 };
  const lock = `siem/${sink.name}`;
  const owner = randomUUID();
  for (let round = 0; round < 10; round++) {
    // A sink held after a failure is not read for: its backlog may be long, and nothing goes until the hold ends.
    const paused = await deps.outbox.pausedUntil(sink.name);
    if (paused && paused > deps.clock.now()) return totals;
    if (!readyToSend(await deps.outbox.due(sink.name, deps.clock.now(), sink.batchSize), sink, deps.clock.now(), force)) return totals;
    const held = await withLease(deps.locks, deps.clock, lock, owner, () => deliverDue(sink, deps, force));
    if (!held) return totals;
    totals.sent += held.value.sent;
    totals.failed += held.value.failed;
    if (held.value.stoppedOnFailure) return totals;
  }
  return totals;
}

/** A batch goes when it is full or its oldest event has waited batchMs; `force` sends whatever is due. */
function readyToSend(batch: OutboxEntry[], sink: SinkConfig, now: Date, force: boolean): boolean {
  if (batch.length === 0) return false;
  return force || batch.length >= sink.batchSize || now.getTime() - Date.parse(batch[0].createdAt) >= sink.batchMs;
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
  // Entries not in the trail yet, passed over (not waited for: they must not hold back what follows).
  const waiting = new Set<string>();
  for (;;) {
    const now = deps.clock.now();
    const batch = (await deps.outbox.due(sink.name, now, sink.batchSize + waiting.size)).filter((e) => !waiting.has(e.id));
    if (!readyToSend(batch, sink, now, force)) return totals;
    const { committed, dropped, uncommitted } = await confirmed(batch, deps.audit, now);
    if (dropped.length) await deps.outbox.remove(sink.name, dropped);
    uncommitted.forEach((e) => waiting.add(e.id));
    // Every pass drops entries or passes some over, so this ends.
    if (committed.length === 0) continue;
    const result = await deps.send(sink, committed.map((e) => e.payload));
    if (result.ok) {
      await deps.outbox.remove(sink.name, committed);
      totals.sent += committed.length;
      // A short batch was all that was due: whatever came since is its exporter's to flush, or
      // this flusher's own after it lets go.
      if (batch.length < sink.batchSize) return totals;
      continue;
    }
    totals.failed += committed.length;
    const attempts = committed[0].attempts + 1;
    const backoff = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (attempts - 1)) * (0.5 + deps.random() / 2);
    const wait = Math.max(backoff, result.retryAfterMs ?? 0);
    const next: OutboxEntry[] = committed.map((e) => ({ ...e, attempts, nextAttemptAt: new Date(now.getTime() + wait).toISOString(), lastError: result.error }));
    // The receiver is down or busy: hold the whole sink, not just this batch.
    await deps.outbox.pause(sink.name, new Date(now.getTime() + wait));
    if (attempts >= sink.maxAttempts) {
      // Told before the letters are written: a crash in between tells again (the same id within the hour), never not at all.
      await deps.publisher.publish([sinkFailing(sink, next, now)]);
      await deps.outbox.deadLetter(sink.name, next);
    } else await deps.outbox.reschedule(sink.name, next);
    return { ...totals, stoppedOnFailure: true };
  }
}

/**
 * siem.sink_failing for a batch the sink refused to the last attempt. Its id names the sink and the
 * hour, so a sink that keeps failing is announced once an hour at most (the audit trail and the
 * notifications keep one event per id), not once a batch; its own export to the failing sink
 * cannot make it louder than that.
 */
function sinkFailing(sink: SinkConfig, letters: OutboxEntry[], now: Date): BusEvent {
  const hour = now.toISOString().slice(0, 13);
  return newEvent('siem.sink_failing', {
    sink: sink.name, sinkType: sink.type, deadLettered: letters.length, attempts: letters[0].attempts,
    lastError: letters[0].lastError ?? 'refused', firstFailedAt: letters[0].createdAt,
  }, { now: () => now, newId: () => `siem-sink-failing:${sink.name}:${hour}` });
}

/** An entry queued this long ago and still not in the trail has no exporter left (an export lives seconds; the bus retries it sooner). */
const ABANDONED_MS = 15 * 60_000;

/**
 * Splits a batch by what the audit trail committed. Two exporters may queue one event at once (a
 * redelivery racing a producer that published it again after a crash, dated anew): both pass the
 * trail check before either appends, the trail keeps one, and only the entry dated as that record
 * goes; the other is dropped. An entry the trail does not hold yet is mid-export, or its exporter
 * died and the bus will deliver the event again (queuing it anew): it is uncommitted. One queued
 * (never tried) over ABANDONED_MS ago belongs to an event the bus gave up on, whose dead letter is
 * where it is replayed from: it is dropped.
 */
async function confirmed(batch: OutboxEntry[], audit: AuditTrail, now: Date): Promise<{ committed: OutboxEntry[]; dropped: OutboxEntry[]; uncommitted: OutboxEntry[] }> {
  const records = await audit.recorded(batch.map((e) => e.id));
  const out = { committed: [] as OutboxEntry[], dropped: [] as OutboxEntry[], uncommitted: [] as OutboxEntry[] };
  for (const entry of batch) {
    const record = records.get(entry.id);
    if (record) (record.occurredAt === entry.createdAt ? out.committed : out.dropped).push(entry);
    else (entry.attempts === 0 && Date.parse(entry.nextAttemptAt) < now.getTime() - ABANDONED_MS ? out.dropped : out.uncommitted).push(entry);
  }
  return out;
}

/** Scheduled: every sink gets whatever is due, full batch or not. */
export async function flushAll(deps: ExportDeps) {
  const out: Record<string, { sent: number; failed: number }> = {};
  for (const sink of deps.sinks) out[sink.name] = await flushSink(sink, deps, true);
  return out;
}
