import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditTrail } from '../../adapters/dynamodb/audit-trail.ts';
import { GENESIS, recordHash, verifyChain, type AuditRecord } from '../../shared/audit-chain.ts';
import { freshTable } from '../support/dynamo.ts';

const event = (id: string, certificateId?: string) => ({ eventId: id, detailType: 'certificate.issued', source: 'certops.issuance', occurredAt: '2026-11-30T10:00:00Z', certificateId, detail: { eventId: id, note: 'x'.repeat(100) } });

async function records(trail: DynamoAuditTrail): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of trail.all()) out.push(r);
  return out;
}

describe('the audit trail, appended in batches with the head as the commit', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  beforeEach(async () => void (db = await freshTable()));
  afterEach(async () => db.close());

  it('appends a batch in order, each event once, and answers the first copy\'s record for a repeat', async () => {
    const trail = new DynamoAuditTrail(db.table);
    const first = await trail.appendAll([event('a'), event('b'), event('a'), event('c', 'cert-1')]);
    expect(first.map((r) => [r.seq, r.eventId])).toEqual([[1, 'a'], [2, 'b'], [1, 'a'], [3, 'c']]);
    // A redelivery of recorded events and a new one: only the new one is appended.
    const again = await trail.appendAll([event('b'), event('d')]);
    expect(again.map((r) => [r.seq, r.eventId])).toEqual([[2, 'b'], [4, 'd']]);
    expect(await trail.head()).toMatchObject({ seq: 4, hash: again[1].hash });
    const all = await records(trail);
    expect(all.map((r) => r.eventId)).toEqual(['a', 'b', 'c', 'd']);
    expect(verifyChain(all, await trail.head())).toEqual({ valid: true, records: 4 });
    expect((await trail.list({ certificateId: 'cert-1' }, 10)).items.map((r) => r.eventId)).toEqual(['c']);
    expect([...(await trail.recorded(['c', 'zz'])).keys()]).toEqual(['c']);
  });

  it('keeps a committed batch whose records a crash kept from their place: readers see it, the next append writes it', async () => {
    const trail = new DynamoAuditTrail(db.table);
    await trail.appendAll([event('a'), event('b')]);
    // The crash: the head moved on with two records, which were never written where they belong.
    const head = await trail.head();
    const lost = [event('c'), event('d')].reduce<AuditRecord[]>((chain, e) => {
      const prev = chain[chain.length - 1] ?? head;
      const draft = { seq: prev.seq + 1, prevHash: prev.hash, ...e };
      return [...chain, { ...draft, hash: recordHash(draft) }];
    }, []);
    await db.table.doc.send(new UpdateCommand({ TableName: db.table.name, Key: { pk: 'AUDIT', sk: 'HEAD' }, UpdateExpression: 'SET #s = :s, #h = :h, pendingJson = :p', ExpressionAttributeNames: { '#s': 'seq', '#h': 'hash' }, ExpressionAttributeValues: { ':s': 4, ':h': lost[1].hash, ':p': JSON.stringify(lost) } }));
    expect((await records(trail)).map((r) => r.eventId)).toEqual(['a', 'b', 'c', 'd']);
    // Every reader finds them: the listing, and the check an export makes before it queues an event for the SIEM.
    expect((await trail.list({}, 10)).items.map((r) => r.eventId)).toEqual(['a', 'b', 'c', 'd']);
    expect((await trail.list({ detailType: 'certificate.issued' }, 3)).items.map((r) => r.eventId)).toEqual(['a', 'b', 'c']);
    expect([...(await trail.recorded(['c', 'd', 'e'])).keys()].sort()).toEqual(['c', 'd']);
    // Their redelivery finds them recorded; the next new event lands after them.
    expect((await trail.appendAll([event('c'), event('e')])).map((r) => [r.seq, r.eventId])).toEqual([[3, 'c'], [5, 'e']]);
    expect((await trail.list({}, 10)).items.map((r) => r.eventId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(verifyChain(await records(trail), await trail.head()).valid).toBe(true);
  });

  it('tells a trail cut short from a whole one: the walk must reach the head', async () => {
    const trail = new DynamoAuditTrail(db.table);
    await trail.appendAll([event('a'), event('b')]);
    await trail.appendAll([event('c')]);
    const head = await trail.head();
    // Clear the head's copy of the last batch, then delete that batch's page: without the head the rest still links up.
    await db.table.doc.send(new UpdateCommand({ TableName: db.table.name, Key: { pk: 'AUDIT', sk: 'HEAD' }, UpdateExpression: 'REMOVE pendingJson' }));
    await db.table.doc.send(new DeleteCommand({ TableName: db.table.name, Key: { pk: 'AUDIT', sk: 'P#000000000003' } }));
    const cut = await records(trail);
    expect(verifyChain(cut).valid).toBe(true);
    expect(verifyChain(cut, head)).toMatchObject({ valid: false, problem: { seq: 3, kind: 'removed' } });
    expect(verifyChain([], { seq: 0, hash: GENESIS }).valid).toBe(true);
  });

  it('shows a page that overlaps the chain with records of its own: verify reports them inserted, the listing lists them', async () => {
    const trail = new DynamoAuditTrail(db.table);
    await trail.appendAll([event('a'), event('b'), event('c')]);
    await trail.appendAll([event('d')]);
    const genuine = await records(trail);
    // A page under seq 2, its records linked as the real ones are but saying something else.
    const forged = genuine.slice(1, 3).reduce<AuditRecord[]>((chain, r) => {
      const prev = chain[chain.length - 1] ?? genuine[0];
      const draft = { ...r, seq: r.seq, prevHash: prev.hash, detail: { eventId: r.eventId, note: 'forged' } } as Omit<AuditRecord, 'hash'> & { hash?: string };
      delete draft.hash;
      return [...chain, { ...draft, hash: recordHash(draft as Omit<AuditRecord, 'hash'>) } as AuditRecord];
    }, []);
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'AUDIT', sk: 'P#000000000002', recordsJson: JSON.stringify(forged) } }));
    const walked = await records(trail);
    expect(verifyChain(walked, await trail.head())).toMatchObject({ valid: false, problem: { seq: 2, kind: 'inserted' } });
    expect((await trail.list({}, 10)).items.filter((r) => r.seq === 2).map((r) => r.hash).sort()).toEqual([genuine[1].hash, forged[0].hash].sort());
    // The head's own copy of its last batch is the same record, not a forgery.
    expect(verifyChain(genuine, await trail.head()).valid).toBe(true);
  });

  it('lists every record once across pages, the last batch the head still carries included once', async () => {
    const trail = new DynamoAuditTrail(db.table);
    await trail.appendAll(['a', 'b', 'c', 'd'].map((id) => event(id)));
    await trail.appendAll(['e', 'f', 'g'].map((id) => event(id)));
    const listed: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await trail.list({}, 2, nextToken);
      listed.push(...page.items.map((r) => r.eventId));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(listed).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('never lets two writers take one sequence number (two processes appending at once)', async () => {
    const [one, two] = [new DynamoAuditTrail(db.table), new DynamoAuditTrail(db.table)];
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => one.appendAll([event(`one-${i}-a`), event(`one-${i}-b`)])),
      ...Array.from({ length: 20 }, (_, i) => two.append(event(`two-${i}`))),
    ]);
    const all = await records(one);
    expect(all).toHaveLength(60);
    expect(new Set(all.map((r) => r.eventId)).size).toBe(60);
    expect(verifyChain(all, await one.head())).toEqual({ valid: true, records: 60 });
  });

  it('splits a burst larger than the head item can carry into several commits', async () => {
    const trail = new DynamoAuditTrail(db.table);
    const big = Array.from({ length: 30 }, (_, i) => ({ ...event(`big-${i}`), detail: { eventId: `big-${i}`, pem: 'A'.repeat(10_000) } }));
    const out = await trail.appendAll(big);
    expect(out.map((r) => r.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(JSON.stringify((await trail.head()).pending).length).toBeLessThan(300_000);
    expect(verifyChain(await records(trail), await trail.head()).valid).toBe(true);
  });

  it('counts what a burst carries in UTF-8 bytes, as DynamoDB does: events in a three-byte script still commit', async () => {
    const trail = new DynamoAuditTrail(db.table);
    // 30,000 characters of 3 bytes each, 90 KB an event: counted as two bytes a character, four would pass for 240 KB and make a head over 400 KB.
    const wide = Array.from({ length: 12 }, (_, i) => ({ ...event(`wide-${i}`), detail: { eventId: `wide-${i}`, subject: '証'.repeat(30_000) } }));
    const out = await trail.appendAll(wide);
    expect(out.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(Buffer.byteLength(JSON.stringify((await trail.head()).pending))).toBeLessThan(300_000);
    expect(verifyChain(await records(trail), await trail.head()).valid).toBe(true);
  });

  it('reads a record an earlier version appended after pages exist (a rolling deploy) in its place in the chain', async () => {
    const trail = new DynamoAuditTrail(db.table);
    await trail.appendAll([event('a'), event('b')]);
    // An invocation of the earlier version, still running, appends record 3 as an item of its own.
    const head = await trail.head();
    const draft = { seq: 3, prevHash: head.hash, ...event('c') };
    const c = { ...draft, hash: recordHash(draft) };
    const { detail, ...rest } = c;
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...rest, detailJson: JSON.stringify(detail), pk: 'AUDIT', sk: 'R#000000000003' } }));
    await db.table.doc.send(new UpdateCommand({ TableName: db.table.name, Key: { pk: 'AUDIT', sk: 'HEAD' }, UpdateExpression: 'SET #s = :s, #h = :h REMOVE pendingJson', ExpressionAttributeNames: { '#s': 'seq', '#h': 'hash' }, ExpressionAttributeValues: { ':s': 3, ':h': c.hash } }));
    await trail.appendAll([event('d')]);
    const all = await records(trail);
    expect(all.map((r) => [r.seq, r.eventId])).toEqual([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
    expect(verifyChain(all, await trail.head())).toEqual({ valid: true, records: 4 });
    expect((await trail.list({}, 10, '2')).items.map((r) => r.eventId)).toEqual(['b', 'c', 'd']);
  });

  it('reads a trail an earlier version wrote one record an item, and appends its pages after it', async () => {
    // Two records as versions before pages wrote them: an item each (indexed by certificate), a marker naming only the number.
    const [a, b] = [event('a', 'cert-1'), event('b')].reduce<AuditRecord[]>((chain, e) => {
      const prev = chain[chain.length - 1] ?? { seq: 0, hash: GENESIS };
      const draft = { seq: prev.seq + 1, prevHash: prev.hash, ...e };
      return [...chain, { ...draft, hash: recordHash(draft) }];
    }, []);
    for (const r of [a, b]) {
      const { detail, ...rest } = r;
      const index = r.certificateId ? { gsi1pk: `AUDITCERT#${r.certificateId}`, gsi1sk: String(r.seq).padStart(12, '0') } : {};
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...rest, detailJson: JSON.stringify(detail), pk: 'AUDIT', sk: `R#${String(r.seq).padStart(12, '0')}`, ...index } }));
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: `AUDITID#${r.eventId}`, sk: 'AUDITID', seq: r.seq } }));
    }
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { pk: 'AUDIT', sk: 'HEAD', seq: 2, hash: b.hash } }));
    const trail = new DynamoAuditTrail(db.table);
    expect((await trail.appendAll([event('a'), event('c', 'cert-1')])).map((r) => [r.seq, r.eventId])).toEqual([[1, 'a'], [3, 'c']]);
    expect((await records(trail)).map((r) => r.eventId)).toEqual(['a', 'b', 'c']);
    expect(verifyChain(await records(trail), await trail.head())).toEqual({ valid: true, records: 3 });
    expect([...(await trail.recorded(['a', 'c'])).values()].map((r) => [r.eventId, r.seq, r.occurredAt]).sort()).toEqual([['a', 1, a.occurredAt], ['c', 3, a.occurredAt]]);
    expect((await trail.list({ certificateId: 'cert-1' }, 10)).items.map((r) => r.eventId)).toEqual(['a', 'c']);
    expect((await trail.list({}, 2)).nextToken).toBe('3');
    expect((await trail.list({}, 2, '3')).items.map((r) => r.eventId)).toEqual(['c']);
    await expect(trail.list({}, 2, 'zz')).rejects.toMatchObject({ field: 'nextToken' });
  });
});
