import type { Clock, LockStore } from './ports.ts';

/** How long a lock holds without its owner renewing it: a dead owner's lock is free to take over after this. */
export const LEASE_MS = 60_000;

/** What a lease needs of the store that keeps it. */
export type LeaseStore = Pick<LockStore, 'acquire' | 'release'>;

/** The lease as its work sees it. */
export interface HeldLease {
  /** The work let go of the lease in the write that ended it: there is nothing to release after. */
  released(): void;
}

/**
 * Runs `work` holding `resource` for `owner` on a lease of LEASE_MS, renewed every third of it
 * while the work runs and released after. An owner that dies stops renewing, so its lock lapses
 * within a minute. Answers undefined, and runs nothing, when another owner holds it.
 * `taken`: the owner took the lease already (in the write that created the resource).
 */
export async function withLease<T>(locks: LeaseStore, clock: Clock, resource: string, owner: string, work: (lease: HeldLease) => Promise<T>, options: { taken?: boolean } = {}): Promise<{ value: T } | undefined> {
  const until = () => new Date(clock.now().getTime() + LEASE_MS);
  if (!options.taken && !(await locks.acquire(resource, owner, until()))) return undefined;
  let released = false;
  const renewal = setInterval(() => void (released || locks.acquire(resource, owner, until()).catch(() => undefined)), LEASE_MS / 3);
  renewal.unref();
  try {
    return { value: await work({ released: () => void (released = true) }) };
  } finally {
    clearInterval(renewal);
    if (!released) await locks.release(resource, owner);
  }
}
