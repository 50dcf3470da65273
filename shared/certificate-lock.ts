import { StepError } from './errors.ts';
import { LEASE_MS } from './lease.ts';
import type { Clock, LockStore } from './ports.ts';

/**
 * The one lock that serialises changes to where a certificate is served: the renewal saga holds
 * it from lock to commit or abort, and deployment of a newly issued certificate holds it too. It is
 * a lease (LEASE_MS) its holder keeps renewing while it works: a holder that died lets go within a
 * minute.
 */
export function certificateLock(certificateId: string): string {
  return `certificate/${certificateId}`;
}

/** Until when a lease taken now holds. */
export const leaseUntil = (clock: Clock) => new Date(clock.now().getTime() + LEASE_MS);

/**
 * A step that fails this way is retried by the state machine after a wait: the lock is held across
 * it (`holdMs` from the failure), so nothing else takes the certificate meanwhile.
 */
export interface HoldsLockWhileRetried {
  holdLockMs: number;
}

const holdsLock = (err: unknown): err is HoldsLockWhileRetried => typeof (err as Partial<HoldsLockWhileRetried> | undefined)?.holdLockMs === 'number';

/**
 * Runs a saga step holding the certificate's lock for its execution: taken again at the start (so
 * an execution resumed after a crash holds it once more) and renewed while the step runs; a failure
 * that will be retried after a wait (HoldsLockWhileRetried) keeps it for that wait. Fails the
 * step (StepError) when another execution or deployment holds it.
 */
export async function holdingCertificateLock<T>(locks: LockStore, clock: Clock, certificateId: string, execution: string, step: string, work: () => Promise<T>): Promise<T> {
  const lock = certificateLock(certificateId);
  if (!(await locks.acquire(lock, execution, leaseUntil(clock)))) throw new StepError(step, `another renewal or deployment of ${certificateId} holds its lock`);
  let renewing: Promise<unknown> = Promise.resolve();
  const renewal = setInterval(() => (renewing = locks.acquire(lock, execution, leaseUntil(clock)).catch(() => undefined)), LEASE_MS / 3);
  renewal.unref();
  try {
    return await work();
  } catch (err) {
    if (holdsLock(err)) {
      clearInterval(renewal);
      // After any renewal under way, or that renewal would cut the longer hold short.
      await renewing;
      // A store that fails here must not hide the error the state machine retries on: the lease then ends as it would.
      await locks.acquire(lock, execution, new Date(clock.now().getTime() + err.holdLockMs)).catch(() => undefined);
    }
    throw err;
  } finally {
    clearInterval(renewal);
  }
}
