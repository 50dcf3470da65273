import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { certificateLock, holdingCertificateLock } from '../shared/certificate-lock.ts';
import { LEASE_MS } from '../shared/lease.ts';
import { StepError } from '../shared/errors.ts';
import { freshTable } from './support/dynamo.ts';

describe('a saga step holding the certificate lock', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let now = Date.parse('2027-01-01T00:00:00Z');
  const clock = { now: () => new Date(now) };
  let locks: DynamoLockStore;

  beforeAll(async () => {
    db = await freshTable();
    locks = new DynamoLockStore(db.table, clock);
  });
  afterAll(() => db.close());

  it('keeps the lock across the wait of a failure the state machine retries later (IssuancePending), and only its lease after any other', async () => {
    const pending = Object.assign(new StepError('renew', 'the CA has not issued yet'), { holdLockMs: 600_000 + LEASE_MS });
    await expect(holdingCertificateLock(locks, clock, 'c1', 'exec-1', 'renew', async () => Promise.reject(pending))).rejects.toBe(pending);
    // Ten minutes on, past the lease: another renewal still finds the certificate held.
    now += 600_000;
    expect(await locks.holder(certificateLock('c1'))).toBe('exec-1');
    expect(await locks.acquire(certificateLock('c1'), 'exec-2', new Date(now + LEASE_MS))).toBe(false);
    // The retry of the same execution takes it again.
    await expect(holdingCertificateLock(locks, clock, 'c1', 'exec-1', 'renew', async () => 'renewed')).resolves.toBe('renewed');

    await expect(holdingCertificateLock(locks, clock, 'c2', 'exec-3', 'renew', async () => Promise.reject(new StepError('renew', 'the CA refused')))).rejects.toThrow(/the CA refused/);
    now += LEASE_MS + 1;
    expect(await locks.holder(certificateLock('c2'))).toBeUndefined();
  });
});
