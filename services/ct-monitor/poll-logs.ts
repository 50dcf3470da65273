import { RetryLaterError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { CtLogState } from '../../shared/model.ts';
import type { LockStore } from '../../shared/ports.ts';
import { pollLog, type PollDeps, type PollResult } from './poll-log.ts';
import { readingAhead } from './read-ahead.ts';

export interface PollLogsDeps extends PollDeps {
  locks: LockStore;
  newId(): string;
}

/** What polling one log came to: its passes summed, a failure (with the back-off it earned), or why it was not polled now. */
export type LogPoll = PollResult | { logUrl: string; error: string; failures: number } | { logUrl: string; skipped: 'paused' | 'backing-off' | 'busy' | 'gone' };

const waiting = (log: CtLogState, now: Date) => Boolean(log.retryAfter && Date.parse(log.retryAfter) > now.getTime());

/** The longest a failing log is left alone, whatever it asks (a Retry-After hours ahead) or its failures in a row earn. */
const MAX_BACK_OFF_MS = 60 * 60_000;

/**
 * When a log that failed `failures` times in a row is polled next: the later of the time it asked
 * for (`asked`, its Retry-After: RFC 9110 10.2.3) and a back-off doubling from 1 minute with each
 * failure, at most MAX_BACK_OFF_MS from `now`.
 */
function backOffUntil(failures: number, now: number, asked?: Date): Date {
  const doubling = 60_000 * 2 ** (failures - 1);
  return new Date(now + Math.min(MAX_BACK_OFF_MS, Math.max(doubling, (asked?.getTime() ?? now) - now)));
}

/**
 * One log, pass after pass while it is behind and `deadline` (epoch milliseconds) is ahead, each
 * pass at most `maxEntries` entries (the memory a unit of work holds is bounded). A lock on the
 * log (held until the deadline) keeps two units from reading the same entries; a unit that finds
 * it held leaves the log to the holder. The log's reader waits for nothing past the deadline, so
 * the unit ends within it and its lock outlives it. A failure is recorded with a back-off
 * (backOffUntil: the log's Retry-After, or doubling with each failure in a row) and is not thrown:
 * no poll asks the log before then.
 */
export async function pollOneLog(logUrl: string, deadline: number, deps: PollLogsDeps): Promise<LogPoll> {
  const owner = `ct-poll:${deps.newId()}`;
  const lock = `ct-poll:${logUrl}`;
  if (!(await deps.locks.acquire(lock, owner, new Date(deadline + 60_000)))) return { logUrl, skipped: 'busy' };
  try {
    const log = await deps.ct.getLog(logUrl);
    if (!log) return { logUrl, skipped: 'gone' };
    if (log.paused) return { logUrl, skipped: 'paused' };
    if (waiting(log, deps.clock.now())) return { logUrl, skipped: 'backing-off' };
    // One reader for the unit's passes: each pass's fetch starts while the one before publishes,
    // unless the deadline ends the unit first (the next unit would fetch those entries again).
    const reading = readingAhead(deps.logReader(log, { deadline }), deps.batchSize, deps.concurrency ?? 4);
    const readAhead = (from: number, to: number) => deps.clock.now().getTime() < deadline && reading.ahead(from, to);
    const passDeps: PollDeps = { ...deps, logReader: () => reading.reader, readAhead };
    try {
      let total = await pollLog(log, passDeps);
      while (total.behind && !total.misbehaviour && deps.clock.now().getTime() < deadline) {
        // A pause or removal made while this unit runs stops it at the next pass.
        const current = await deps.ct.getLog(logUrl);
        if (!current || current.paused) break;
        const pass = await pollLog(current, passDeps);
        total = { ...pass, from: total.from, observed: total.observed + pass.observed, unauthorized: total.unauthorized + pass.unauthorized, unreadable: (total.unreadable ?? 0) + (pass.unreadable ?? 0) };
      }
      return total;
    } catch (err) {
      const error = String((err as Error)?.message ?? err).slice(0, 300);
      const failures = (log.failures ?? 0) + 1;
      const asked = err instanceof RetryLaterError ? err.retryAt : undefined;
      await deps.ct.recordPollFailure(logUrl, error, backOffUntil(failures, deps.clock.now().getTime(), asked));
      return { logUrl, error, failures };
    }
  } finally {
    await deps.locks.release(lock, owner);
  }
}

/** Every watched log at once, each on its own (a log that fails, stalls or lies keeps no other from being read), until `deadline`. */
export async function pollAllLogs(deadline: number, deps: PollLogsDeps) {
  const all = await deps.ct.listLogs();
  const now = deps.clock.now();
  const due = all.filter((l) => !l.paused && !waiting(l, now));
  return {
    logs: await Promise.all(due.map((log) => pollOneLog(log.logUrl, deadline, deps))),
    ...notDue(all, now),
  };
}

/**
 * The schedule's fan-out: one ct.log_poll_requested per log that is due, each a unit of work a
 * poll worker takes on its own, so a log with a backlog holds back no other. The event names the
 * log only; the worker reads its state from the store.
 */
export async function requestPolls(deps: Pick<PollLogsDeps, 'ct' | 'clock' | 'publisher'>) {
  const all = await deps.ct.listLogs();
  const now = deps.clock.now();
  const due = all.filter((l) => !l.paused && !waiting(l, now));
  await deps.publisher.publish(due.map((log) => pollRequested(log.logUrl, now)));
  return { requested: due.map((l) => l.logUrl), ...notDue(all, now) };
}

/**
 * ct.log_poll_requested → the log is polled until `deadline`; a log still behind then is asked
 * for again at once (its backlog goes on in the next unit, not at the next schedule).
 */
export async function pollRequestedLog(logUrl: string, deadline: number, deps: PollLogsDeps): Promise<LogPoll> {
  const result = await pollOneLog(logUrl, deadline, deps);
  if ('behind' in result && result.behind && !result.misbehaviour) await deps.publisher.publish([pollRequested(logUrl, deps.clock.now(), result.to)]);
  return result;
}

/** Its id names the log and the schedule's minute (or the position a backlog goes on from): a redelivered fan-out asks once. */
function pollRequested(logUrl: string, now: Date, from?: number) {
  const id = `ct-poll:${logUrl}:${from === undefined ? now.toISOString().slice(0, 16) : `from-${from}`}`;
  return newEvent('ct.log_poll_requested', { logUrl, ...(from === undefined ? {} : { from }) }, { now: () => now, newId: () => id });
}

function notDue(all: CtLogState[], now: Date) {
  return {
    paused: all.filter((l) => l.paused).map((l) => l.logUrl),
    backingOff: all.filter((l) => !l.paused && waiting(l, now)).map((l) => ({ logUrl: l.logUrl, lastError: l.lastError, failures: l.failures, retryAfter: l.retryAfter })),
  };
}
