import type { SinkConfig } from '../../shared/siem-config.ts';
import type { SiemOutbox } from '../../shared/ports.ts';

/** How far one sink's queue is read at most to say how it is doing (a sink far behind shows `queued` as this many or more). */
const LOOK_AHEAD = 1000;

/** One SIEM sink as an operator checks it: what waits, whether it is failing, what it gave up on. */
export interface SinkHealth {
  name: string;
  type: SinkConfig['type'];
  format: SinkConfig['format'];
  /**
   * backing-off: deliveries held after a failure; retrying: queued events failed before and are
   * tried again; gave-up: nothing is retried, but events it refused to the last attempt wait in its
   * dead letters for a replay (`certops siem replay`); healthy: none of these.
   */
  state: 'healthy' | 'retrying' | 'backing-off' | 'gave-up';
  /** Events waiting to go out (at most LOOK_AHEAD counted). */
  queued: number;
  oldestQueuedAt?: string;
  /** Set while deliveries are held after failures (or the receiver's Retry-After). */
  pausedUntil?: string;
  /** The last failure of what is queued, else of its dead letters. */
  lastError?: string;
  deadLetters: number;
}

/** Each configured sink's health, from its outbox (GET /siem/sinks). */
export async function sinkHealth(sinks: SinkConfig[], deps: { outbox: SiemOutbox; now: Date }): Promise<SinkHealth[]> {
  const dead = await deps.outbox.deadLetters();
  return Promise.all(sinks.map(async (sink) => {
    const [queued, paused] = await Promise.all([deps.outbox.peek(sink.name, LOOK_AHEAD), deps.outbox.pausedUntil(sink.name)]);
    const failing = queued.filter((e) => e.attempts > 0);
    const held = paused && paused > deps.now ? paused.toISOString() : undefined;
    // Its dead letters, the one that failed last at the end (each was due again when it failed for the last time).
    const letters = dead.filter((d) => d.sink === sink.name).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
    const lastError = failing.length ? failing.at(-1)!.lastError : letters.at(-1)?.lastError;
    return {
      name: sink.name, type: sink.type, format: sink.format,
      state: held ? 'backing-off' : failing.length ? 'retrying' : letters.length ? 'gave-up' : 'healthy',
      queued: queued.length,
      ...(queued.length ? { oldestQueuedAt: queued[0].createdAt } : {}),
      ...(held ? { pausedUntil: held } : {}),
      ...(lastError ? { lastError } : {}),
      deadLetters: letters.length,
    };
  }));
}
