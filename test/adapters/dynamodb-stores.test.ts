import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoCtStateStore } from '../../adapters/dynamodb/ct-state-store.ts';
import { DynamoScanStore } from '../../adapters/dynamodb/scan-store.ts';
import { DynamoAuditTrail } from '../../adapters/dynamodb/audit-trail.ts';
import { verifyChain as verifyAuditChain } from '../../shared/audit-chain.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { freshTable } from '../support/dynamo.ts';
import { decodeToken, getItem } from '../../adapters/dynamodb/table.ts';
import { BatchGetItemCommand, DynamoDBClient, QueryCommand as QueryItemsCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DocumentClient } from '../../adapters/dynamodb/document-client.ts';
import { mockClient } from 'aws-sdk-client-mock';

const DAY = 86_400_000;
const base = Date.parse('2027-01-01T00:00:00Z');

function cert(i: number, status: StoredCertificate['status'] = 'active'): StoredCertificate {
  const id = i.toString(16).padStart(32, '0');
  return {
    id, commonName: `h${i}.example.com`, subjectAlternativeNames: [`h${i}.example.com`], subject: `CN=h${i}.example.com`, issuer: 'CN=test CA',
    serialNumber: '01', notBefore: new Date(base - 90 * DAY).toISOString(), notAfter: new Date(base + i * DAY).toISOString(),
    fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa', keyAlgorithm: 'EC_P256', keyType: 'EC', version: 3, emailAddresses: [], uris: [], crlUrls: [], ocspUrls: [], caIssuersUrls: [], sctCount: 0, signatureAlgorithm: 'ecdsa-with-SHA256', selfSigned: false, certificatePem: 'pem',
    status, source: 'issued', chainPem: '', targets: [], createdAt: new Date(base + i).toISOString(),
  };
}

describe('DynamoDB stores (on dynalite)', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let certificates: DynamoCertificateStore;
  beforeAll(async () => {
    db = await freshTable();
    certificates = new DynamoCertificateStore(db.table);
    // 300 certificates expiring one a day, every tenth one already superseded.
    for (let i = 0; i < 300; i += 25) await Promise.all(Array.from({ length: 25 }, (_, k) => certificates.create(cert(i + k, (i + k) % 10 === 9 ? 'superseded' : 'active'))));
  });
  afterAll(() => db.close());

  it('frees a lock its owner took before the runtime knew every earlier owner gone, without listing locks (an index entry can be missing)', async () => {
    let now = new Date('2026-11-30T10:00:00Z');
    const clock = { now: () => now };
    const before = new DynamoLockStore(db.table, clock);
    expect(await before.acquire('gone/owner', 'dead-process', new Date('2026-11-30T10:01:00Z'))).toBe(true);
    now = new Date('2026-11-30T10:00:10Z');
    // A new start at 10:00:05: the lock is well within its lease, but its owner is gone.
    const after = new DynamoLockStore(db.table, clock, new Date('2026-11-30T10:00:05Z'));
    expect(await before.holder('gone/owner')).toBe('dead-process');
    expect(await after.holder('gone/owner')).toBeUndefined();
    expect(await after.acquire('gone/owner', 'live-process', new Date('2026-11-30T10:01:10Z'))).toBe(true);
    // Taken since the start, it holds against everyone else.
    expect(await after.holder('gone/owner')).toBe('live-process');
    expect(await after.acquire('gone/owner', 'another', new Date('2026-11-30T10:01:10Z'))).toBe(false);
    now = new Date('2026-11-30T10:02:00Z');
    expect(await after.holder('gone/owner')).toBeUndefined();
    await after.release('gone/owner', 'live-process');
  });

  it('replaces a certificate\'s targets only from the list it was read with', async () => {
    // Revoked and older than the others: the listing and expiry tests below do not see it.
    const c = { ...cert(1000, 'revoked'), createdAt: new Date(base - 1000 * DAY).toISOString() };
    await certificates.create(c);
    expect(await certificates.replaceTargets(c.id, [], ['a'])).toBe(true);
    expect(await certificates.replaceTargets(c.id, ['a'], ['a', 'b'])).toBe(true);
    expect(await certificates.replaceTargets(c.id, ['a'], ['a', 'c'])).toBe(false);
    expect((await certificates.get(c.id))!.targets).toEqual(['a', 'b']);
    expect(await certificates.replaceTargets(c.id, ['a', 'b'], ['b'])).toBe(true);
    expect((await certificates.get(c.id))!.targets).toEqual(['b']);
  });

  it('creates a certificate once: a second create of the same id changes nothing', async () => {
    expect(await certificates.create({ ...cert(5), owner: 'someone-else' })).toBe(false);
    expect((await certificates.get(cert(5).id))?.owner).toBeUndefined();
    expect(await certificates.get('f'.repeat(32))).toBeUndefined();
  });

  it('finds what expires before a date with an index query that reads only what it returns', async () => {
    const before = new Date(base + 30 * DAY);
    const page = await certificates.expiringBefore(before, 100);
    // Days 0..29, minus the superseded 9, 19 and 29, which are not in the sparse index.
    expect(page.items).toHaveLength(27);
    expect(page.itemsRead).toBe(27);
    expect(page.items.every((c) => c.status === 'active' && Date.parse(c.notAfter) < before.getTime())).toBe(true);
    expect(page.items.map((c) => c.notAfter)).toEqual([...page.items.map((c) => c.notAfter)].sort());
  });

  it('pages the expiry query with nextToken, never reading past the page', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await certificates.expiringBefore(new Date(base + 100 * DAY), 20, nextToken);
      expect(page.itemsRead).toBe(page.items.length);
      expect(page.items.length).toBeLessThanOrEqual(20);
      seen.push(...page.items.map((c) => c.id));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(new Set(seen).size).toBe(90);
  });

  it('keeps the expiry index in step with status changes', async () => {
    await certificates.update(cert(0).id, { status: 'superseded', supersededBy: cert(1).id });
    expect((await certificates.expiringBefore(new Date(base + DAY / 2), 10)).items).toHaveLength(0);
    await certificates.update(cert(0).id, { status: 'active', supersededBy: undefined });
    const back = await certificates.expiringBefore(new Date(base + DAY / 2), 10);
    expect(back.items.map((c) => c.id)).toEqual([cert(0).id]);
    expect(back.items[0].supersededBy).toBeUndefined();
  });

  it('lists newest first with pagination, and refuses a forged nextToken naming the field', async () => {
    const first = await certificates.list({}, 10);
    expect(first.items.map((c) => c.id)).toEqual(Array.from({ length: 10 }, (_, k) => cert(299 - k).id));
    const second = await certificates.list({}, 10, first.nextToken);
    expect(second.items[0].id).toBe(cert(289).id);
    await expect(certificates.list({}, 10, 'garbage!')).rejects.toMatchObject({ field: 'nextToken', status: 400 });
  });

  it('sorts on the server: oldest first, or by expiry soonest or latest first (those in use), each page continuing the order', async () => {
    const oldest = (await certificates.list({ sort: 'oldest' }, 5)).items;
    expect(oldest.map((c) => c.createdAt)).toEqual([...oldest.map((c) => c.createdAt)].sort());
    expect(oldest.map((c) => c.id)).toEqual(expect.arrayContaining([0, 1, 2].map((k) => cert(k).id)));
    const latest = await certificates.list({ sort: '-expiry' }, 5);
    // Day 299 is superseded (not in use): the latest to expire in use is day 298.
    expect(latest.items.map((c) => c.id)).toEqual([298, 297, 296, 295, 294].map((k) => cert(k).id));
    const next = await certificates.list({ sort: '-expiry' }, 5, latest.nextToken);
    expect(next.items.map((c) => c.id)).toEqual([293, 292, 291, 290, 288].map((k) => cert(k).id));
    // A page token belongs to its order: one from the other direction is refused, naming the field.
    await expect(certificates.list({ sort: 'expiry' }, 5, latest.nextToken)).rejects.toMatchObject({ field: 'nextToken', status: 400 });
    const newest = await certificates.list({}, 2);
    await expect(certificates.list({ sort: 'oldest' }, 2, newest.nextToken)).rejects.toMatchObject({ field: 'nextToken', status: 400 });
    const soonest = await certificates.list({ sort: 'expiry', owner: undefined }, 4);
    expect(soonest.items.map((c) => c.notAfter)).toEqual([...soonest.items.map((c) => c.notAfter)].sort());
    expect(soonest.items.every((c) => c.status === 'active')).toBe(true);
  });

  it('keeps history entries apart per attempt, kind, target and outcome; replays add nothing', async () => {
    const id = cert(3).id;
    const e = { kind: 'deployment' as const, attempt: 'run-1', target: 'web-01', at: '2027-01-01T00:00:01Z' };
    await certificates.addHistory(id, { ...e, outcome: 'succeeded' });
    await certificates.addHistory(id, { ...e, outcome: 'succeeded' });
    await certificates.addHistory(id, { ...e, outcome: 'rolled_back', at: '2027-01-01T00:00:02Z' });
    expect((await certificates.history(id)).map((h) => h.outcome)).toEqual(['succeeded', 'rolled_back']);
  });

  it('lets one holder take a lock, again and again, until it is released or expires', async () => {
    let now = new Date('2027-01-01T00:00:00Z');
    const locks = new DynamoLockStore(db.table, { now: () => now });
    const until = new Date(now.getTime() + 60_000);
    expect(await locks.acquire('renewal/x', 'run-a', until)).toBe(true);
    expect(await locks.acquire('renewal/x', 'run-a', until)).toBe(true);
    expect(await locks.acquire('renewal/x', 'run-b', until)).toBe(false);
    await locks.release('renewal/x', 'run-b');
    expect(await locks.holder('renewal/x')).toBe('run-a');
    now = new Date(until.getTime() + 1);
    expect(await locks.acquire('renewal/x', 'run-b', new Date(now.getTime() + 60_000))).toBe(true);
    await locks.release('renewal/x', 'run-b');
    expect(await locks.holder('renewal/x')).toBeUndefined();
  });

  it('binds an idempotency key to the first of many concurrent requests', async () => {
    const requests = new DynamoRequestStore(db.table);
    const winners = await Promise.all(Array.from({ length: 8 }, (_, i) => requests.claimIdempotencyKey('key-1', `req-${i}`, new Date())));
    expect(new Set(winners.map((w) => w.requestId)).size).toBe(1);
    // A claim moves only from the request it names.
    expect(await requests.reclaimIdempotencyKey('key-1', 'not-the-winner', 'req-x', new Date())).toBe(false);
    expect(await requests.reclaimIdempotencyKey('key-1', winners[0].requestId, 'req-x', new Date())).toBe(true);
  });

  it('saves a CT log position only over the position it read', async () => {
    const ct = new DynamoCtStateStore(db.table);
    const state = { logUrl: 'https://log.example/', position: 0, treeSize: 10, updatedAt: '2027-01-01T00:00:00Z' };
    expect(await ct.saveLog(state, undefined)).toBe(true);
    expect(await ct.saveLog(state, undefined)).toBe(false);
    expect(await ct.saveLog({ ...state, position: 5 }, 0)).toBe(true);
    expect(await ct.saveLog({ ...state, position: 7 }, 0)).toBe(false);
    expect((await ct.getLog(state.logUrl))?.position).toBe(5);
    expect((await ct.listLogs()).map((l) => l.logUrl)).toEqual([state.logUrl]);
  });

  it('moves a certificate out of a status only if it is still in it', async () => {
    const c = { ...cert(900), serialNumber: '0900' };
    await certificates.create(c);
    expect(await certificates.transition(c.id, 'active', { status: 'revoked', revocationReason: 'keyCompromise' })).toBe(true);
    // A renewal committing afterwards finds it no longer active and changes nothing.
    expect(await certificates.transition(c.id, 'active', { status: 'superseded', supersededBy: 'f'.repeat(32) })).toBe(false);
    const stored = await certificates.get(c.id);
    expect(stored?.status).toBe('revoked');
    expect(stored?.supersededBy).toBeUndefined();
  });

  it('keeps an issued certificate\'s issuer-and-serial identity from an import that shares it', async () => {
    const issued = { ...cert(901), serialNumber: '0A:0B:0C', issuer: 'CN=certops CA' };
    await certificates.create(issued);
    const lookalike = { ...cert(902), serialNumber: '0A:0B:0C', issuer: 'CN=certops CA', source: 'import' as const, status: 'discovered' as const };
    await certificates.create(lookalike);
    expect(await certificates.idsByIssuerSerial([{ issuer: 'CN=certops CA', serialNumber: '0A:0B:0C' }])).toEqual([issued.id]);
    // An import takes an identity nobody holds.
    const alone = { ...cert(903), serialNumber: '0D', issuer: 'CN=elsewhere', source: 'import' as const, status: 'discovered' as const };
    await certificates.create(alone);
    expect(await certificates.idsByIssuerSerial([{ issuer: 'CN=elsewhere', serialNumber: '0D' }])).toEqual([alone.id]);
  });

  it('reads many certificates, pointers and findings at once, in the order asked, with gaps where none is', async () => {
    const stored = Array.from({ length: 130 }, (_, i) => ({ ...cert(1000 + i), serialNumber: `0B:${i}`, issuer: 'CN=batch CA' }));
    for (const c of stored) await certificates.create(c);
    // More than one BatchGetItem call (100 keys each), a repeated key and a missing one.
    const ids = [...stored.map((c) => c.id).reverse(), stored[5].id, 'f'.repeat(32)];
    expect((await certificates.getMany(ids)).map((c) => c?.id)).toEqual(ids.map((id) => (id === 'f'.repeat(32) ? undefined : id)));
    expect(await certificates.idsByIssuerSerial([{ issuer: 'CN=batch CA', serialNumber: '0B:7' }, { issuer: 'CN=batch CA', serialNumber: 'FF' }])).toEqual([stored[7].id, undefined]);
    const ct = new DynamoCtStateStore(db.table);
    const finding = { id: 'a'.repeat(32), logUrl: 'https://ct.example/log', index: 3, names: ['a.example.com'], entryType: 'x509' as const, fingerprintSha256: 'AB', issuer: 'CN=x', serialNumber: '01', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2026-04-01T00:00:00.000Z', severity: 'high' as const, status: 'open' as const, firstSeen: '2026-11-30T00:00:00.000Z' };
    await ct.putFinding(finding);
    expect((await ct.getFindings(['b'.repeat(32), finding.id])).map((f) => f?.id)).toEqual([undefined, finding.id]);
  });

  it('appends an event to the audit trail once, even when a crash left its marker pointing nowhere', async () => {
    const trail = new DynamoAuditTrail(db.table);
    const event = (id: string) => ({ eventId: id, detailType: 'certificate.issued', source: 'certops.issuance', occurredAt: '2026-11-30T10:00:00Z', detail: { eventId: id } });
    // A crash between naming the number and writing the record there.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'AUDITID#crashed', sk: 'AUDITID', seq: 1 } }));
    const first = await trail.append(event('crashed'));
    expect(first).toMatchObject({ seq: 1, eventId: 'crashed' });
    // Its marker now points at a number another event took: that one is not the crashed event's.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'AUDITID#second', sk: 'AUDITID', seq: 1 } }));
    expect(await trail.append(event('second'))).toMatchObject({ seq: 2, eventId: 'second' });
    expect(await trail.append(event('crashed'))).toEqual(first);
    const all = [];
    for await (const r of trail.all()) all.push(r);
    expect(all.map((r) => r.eventId)).toEqual(['crashed', 'second']);
    expect(verifyAuditChain(all).valid).toBe(true);
    // The markers (found again only while an event can come again) expire 30 days after the event; the records' pages carry no time to live.
    const marker = await getItem(db.table, { pk: 'AUDITID#second', sk: 'AUDITID' });
    expect(marker!.ttl).toBe(Date.parse('2026-11-30T10:00:00Z') / 1000 + 30 * 86_400);
    const page = await getItem(db.table, { pk: 'AUDIT', sk: 'P#000000000002' });
    expect(JSON.parse(String(page!.recordsJson))).toMatchObject([{ seq: 2, eventId: 'second' }]);
    expect(page!.ttl).toBeUndefined();
    // A marker of an event about a certificate is that certificate's index entry: it stays.
    await trail.append({ ...event('about-cert'), certificateId: 'cert-9' });
    const indexed = await getItem(db.table, { pk: 'AUDITID#about-cert', sk: 'AUDITID' });
    expect(indexed).toMatchObject({ gsi1pk: 'AUDITCERT#cert-9', seq: 3 });
    expect(indexed!.ttl).toBeUndefined();
  });

  it('pages CT findings newest first, only open or only authorized ones when asked, each page resuming after the last', async () => {
    const ct = new DynamoCtStateStore(db.table);
    const finding = (k: number) => ({ id: `f${k}`.padEnd(32, '0'), logUrl: 'https://ct.example/paged', index: k, names: [`p${k}.example.com`], entryType: 'x509' as const, fingerprintSha256: 'AB', severity: 'high' as const, status: 'open' as const, firstSeen: `2026-11-2${k}T00:00:00.000Z` });
    for (let k = 0; k < 6; k++) await ct.putFinding(finding(k));
    for (const k of [1, 4]) await ct.authorize(finding(k).id);
    const paged = (await ct.listFindings({ limit: 100 })).items.filter((f) => f.logUrl === 'https://ct.example/paged');
    expect(paged.map((f) => f.index)).toEqual([5, 4, 3, 2, 1, 0]);
    const seen: number[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ct.listFindings({ limit: 2, status: 'open', nextToken });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.filter((f) => f.logUrl === 'https://ct.example/paged').map((f) => f.index));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen).toEqual([5, 3, 2, 0]);
    expect((await ct.listFindings({ limit: 10, status: 'authorized' })).items.map((f) => f.index)).toEqual(expect.arrayContaining([4, 1]));
  });

  it('refuses a nextToken from outside the range a query reads', () => {
    const token = (sk: string) => Buffer.from(JSON.stringify({ pk: 'CERT#x', sk })).toString('base64url');
    expect(decodeToken(token('HIST#1'), 'pk', 'CERT#x', { skPrefix: 'HIST#' })).toEqual({ pk: 'CERT#x', sk: 'HIST#1' });
    expect(() => decodeToken(token('NAME#a'), 'pk', 'CERT#x', { skPrefix: 'HIST#' })).toThrow(/nextToken/);
    expect(() => decodeToken(token('2027'), 'pk', 'CERT#x', { skBefore: '2026' })).toThrow(/nextToken/);
  });

  it('reads the certificates of a domain page in BatchGetItem calls of at most 100 keys, retrying unprocessed keys', async () => {
    const client = new DynamoDBClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const dynamo = mockClient(client);
    const ids = Array.from({ length: 150 }, (_, i) => (1000 + i).toString(16).padStart(32, '0'));
    const wire = (item: object) => marshall(item, { removeUndefinedValues: true });
    dynamo.on(QueryItemsCommand).resolves({ Items: ids.map((id) => wire({ pk: `CERT#${id}`, sk: 'NAME#com.example.shared', gsi1pk: 'NAMES', gsi1sk: `com.example.shared#${id}`, certificateId: id })) });
    let calls = 0;
    dynamo.on(BatchGetItemCommand).callsFake((input) => {
      const keys = (input.RequestItems.t.Keys as Record<string, AttributeValue>[]).map((k) => unmarshall(k) as { pk: string });
      expect(keys.length).toBeLessThanOrEqual(100);
      // The first call leaves half its keys unprocessed, as DynamoDB does under throttling.
      const [served, left] = calls++ === 0 ? [keys.slice(0, 50), keys.slice(50)] : [keys, []];
      return { Responses: { t: served.map((k) => wire({ ...cert(0), id: k.pk.slice(5), commonName: 'shared.example.com', subjectAlternativeNames: ['shared.example.com'], pk: k.pk, sk: 'CERT' })) }, UnprocessedKeys: left.length ? { t: { Keys: left.map(wire) } } : {} };
    });
    const page = await new DynamoCertificateStore({ doc: new DocumentClient(client), name: 't' }).list({ domain: 'shared.example.com' }, 150);
    expect(page.items.map((c) => c.id).sort()).toEqual([...ids].sort());
    expect(calls).toBe(3);
  });
  it('marks scans and Idempotency-Key claims to expire (the table\'s ttl, epoch seconds) and never hands the mark back', async () => {
    const scans = new DynamoScanStore(db.table);
    const startedAt = '2027-01-01T00:00:00.000Z';
    await scans.create({ scanId: 'ttl-scan', status: 'running', targets: ['h.example'], ports: [443], total: 1, done: 0, startedAt, requestedBy: 'admin' });
    const raw = await db.table.doc.send(new GetCommand({ TableName: db.table.name, Key: { pk: 'SCAN#ttl-scan', sk: 'SCAN' } }));
    expect(raw.Item?.ttl).toBe(Date.parse(startedAt) / 1000 + 90 * 86_400);
    expect(await scans.get('ttl-scan')).not.toHaveProperty('ttl');
    await new DynamoRequestStore(db.table).claimIdempotencyKey('admin:k1', 'r1', new Date(startedAt));
    const claim = await db.table.doc.send(new GetCommand({ TableName: db.table.name, Key: { pk: 'IDEM#admin:k1', sk: 'IDEM' } }));
    expect(claim.Item?.ttl).toBe(Date.parse(startedAt) / 1000 + 7 * 86_400);
  });
});
