import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRequestLeases, DynamoRequestStore } from '../adapters/dynamodb/request-store.ts';
import type { CertificateRequest } from '../shared/model.ts';
import { freshTable } from './support/dynamo.ts';

const request = (requestId: string, status: CertificateRequest['status'] = 'approved'): CertificateRequest => ({
  requestId, status, commonName: 'lease.example.com', subjectAlternativeNames: ['lease.example.com'], profile: 'tls-server', validityDays: 30,
  environment: 'dev', issuer: 'local', targets: [], requestedBy: 'rita', reasons: [], createdAt: '2026-11-30T10:00:00.000Z', keyAlgorithm: 'EC_P256',
});

/** Leases on requests, kept in the request's item: one attempt at a time works on an approved request. */
describe('request leases', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let now = new Date('2026-11-30T10:00:00.000Z');
  const clock = { now: () => now };
  const minute = (n: number) => new Date(now.getTime() + n * 60_000);
  beforeAll(async () => void (db = await freshTable()));
  afterAll(() => db.close());

  it('is taken over from a process that died before this start once, and then held against every other attempt', async () => {
    const requests = new DynamoRequestStore(db.table);
    await requests.create(request('req-dead'), { owner: 'request:req-dead', until: minute(1), since: now });
    // The process died; a new one starts a second later and its recovery takes the lease over.
    now = new Date(now.getTime() + 1000);
    const leases = new DynamoRequestLeases(db.table, clock, now);
    expect(await leases.acquire('req-dead', 'retry:x', minute(1))).toBe(true);
    expect(await leases.acquire('req-dead', 'approve:bob:y', minute(1))).toBe(false);
    // Its owner renews it; only the owner lets it go.
    expect(await leases.acquire('req-dead', 'retry:x', minute(1))).toBe(true);
    await leases.release('req-dead', 'approve:bob:y');
    expect(await leases.acquire('req-dead', 'approve:bob:y', minute(1))).toBe(false);
    await leases.release('req-dead', 'retry:x');
    expect(await leases.acquire('req-dead', 'approve:bob:y', minute(1))).toBe(true);
  });

  it('is taken only while the request is approved, ends in the write that records the outcome, and never shows in what is read', async () => {
    const requests = new DynamoRequestStore(db.table);
    const leases = new DynamoRequestLeases(db.table, clock);
    await requests.create(request('req-pending', 'pending_approval'));
    expect(await leases.acquire('req-pending', 'a', minute(1))).toBe(false);
    expect(await leases.acquire('req-missing', 'a', minute(1))).toBe(false);
    await requests.create(request('req-held'), { owner: 'a', until: minute(1), since: now });
    expect((await requests.issuingBefore(minute(10))).find((r) => r.requestId === 'req-held')).not.toHaveProperty('leaseOwner');
    expect(await requests.get('req-held')).not.toHaveProperty('leaseOwner');
    // Another owner's transition may not end the lease; the owner's does.
    expect(await requests.transition('req-held', 'approved', { status: 'issued', certificateId: 'c1' }, 'b')).toBe(false);
    expect(await requests.transition('req-held', 'approved', { status: 'issued', certificateId: 'c1' }, 'a')).toBe(true);
    const items = (await db.table.doc.send(new ScanCommand({ TableName: db.table.name }))).Items ?? [];
    expect(items.find((i) => i.pk === 'REQ#req-held')).not.toHaveProperty('leaseOwner');
    // A renewal that arrives after the outcome takes nothing.
    expect(await leases.acquire('req-held', 'a', minute(1))).toBe(false);
  });
});
