import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/ports.ts';

export interface ScheduleOptions {
  schedules: { fn: string; everyMs: number }[];
  invoke(fn: string, event: unknown): Promise<unknown>;
  clock: Clock;
  /** Replaces every schedule's interval (CERTOPS_SCHEDULE_INTERVAL_MS), so a demo or a test need not wait an hour. */
  intervalOverrideMs?: number;
  onError?(fn: string, err: unknown): void;
}

/** Runs the `schedule` events of serverless.yml in-process; a run still going when the next is due is not overlapped. */
export function startScheduler(options: ScheduleOptions): { stop(): Promise<void> } {
  const timers: NodeJS.Timeout[] = [];
  const running = new Map<string, Promise<unknown>>();
  for (const s of options.schedules) {
    const tick = () => {
      if (running.has(s.fn)) return;
      const event = { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', time: options.clock.now().toISOString(), region: 'local', resources: [], detail: {} };
      const run = options.invoke(s.fn, event).catch((err) => options.onError?.(s.fn, err)).finally(() => running.delete(s.fn));
      running.set(s.fn, run);
    };
    timers.push(setInterval(tick, options.intervalOverrideMs ?? s.everyMs));
  }
  return {
    async stop() {
      timers.forEach(clearInterval);
      await Promise.allSettled([...running.values()]);
    },
  };
}
