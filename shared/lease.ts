import type { Clock, LockStore } from './ports.ts';

/** How long a lock holds without its owner renewing it: a dead owner's lock is free to take over after this. */
export const LEASE_MS = 60_000;

/**
 * Runs `work` holding `resource` for `owner` on a lease of LEASE_MS, renewed every third of it
 * while the work runs and released after. An owner that dies stops renewing, so its lock lapses
 * within a minute. Answers undefined, and runs nothing, when another owner holds it.
 */
export async function withLease<T>(locks: LockStore, clock: Clock, resource: string, owner: string, work: () => Promise<T>): Promise<{ value: T } | undefined> {
  const until = () => new Date(clock.now().getTime() + LEASE_MS);
  if (!(await locks.acquire(resource, owner, until()))) return undefined;
  const renewal = setInterval(() => void locks.acquire(resource, owner, until()).catch(() => undefined), LEASE_MS / 3);
  renewal.unref();
  try {
    return { value: await work() };
  } finally {
    clearInterval(renewal);
    await locks.release(resource, owner);
  }
}
