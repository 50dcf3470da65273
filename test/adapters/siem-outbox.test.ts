import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSiemOutbox } from '../../adapters/dynamodb/siem-outbox.ts';
import type { OutboxEntry } from '../../shared/ports.ts';
import { freshTable } from '../support/dynamo.ts';

const entry = (id: string, createdAt = '2026-12-01T10:00:00.000Z'): OutboxEntry => ({ id, payload: `{"id":"${id}"}`, createdAt, attempts: 0, nextAttemptAt: createdAt });
const now = new Date('2026-12-01T11:00:00.000Z');

describe('the SIEM outbox, a page of entries per export', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let outbox: DynamoSiemOutbox;
  const items = async () => (await db.table.doc.send(new QueryCommand({ TableName: db.table.name, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'OUTBOX#s' } }))).Items!;
  beforeEach(async () => {
    db = await freshTable();
    outbox = new DynamoSiemOutbox(db.table, () => ['s']);
  });
  afterEach(async () => db.close());

  it('writes one item for a batch of entries, and the same item when the batch is queued again', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => entry(`e${i}`));
    await outbox.addAll('s', batch);
    await outbox.addAll('s', batch);
    expect(await items()).toHaveLength(1);
    expect((await outbox.due('s', now, 100)).map((e) => e.id)).toEqual(batch.map((e) => e.id));
  });

  it('reads an entry queued in two pages once, and removes it from both', async () => {
    await outbox.addAll('s', [entry('a'), entry('b')]);
    // The queue redelivered one of the events in a batch of another make-up.
    await outbox.addAll('s', [entry('b'), entry('c')]);
    expect((await outbox.due('s', now, 10)).map((e) => e.id)).toEqual(['a', 'b', 'c']);
    await outbox.remove('s', [entry('a'), entry('b')]);
    expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['c']);
    await outbox.remove('s', [entry('c')]);
    expect(await items()).toHaveLength(0);
  });

  it('reschedules entries in their page: they are not due until their next attempt', async () => {
    await outbox.addAll('s', [entry('a'), entry('b')]);
    await outbox.reschedule('s', [{ ...entry('a'), attempts: 1, nextAttemptAt: '2026-12-01T12:00:00.000Z', lastError: '500' }]);
    expect((await outbox.due('s', now, 10)).map((e) => e.id)).toEqual(['b']);
    expect((await outbox.peek('s', 10)).find((e) => e.id === 'a')).toMatchObject({ attempts: 1, lastError: '500' });
  });

  it('splits a batch larger than an item may be into pages', async () => {
    const big = Array.from({ length: 40 }, (_, i) => ({ ...entry(`big${i}`), payload: 'x'.repeat(20_000) }));
    await outbox.addAll('s', big);
    expect((await items()).length).toBeGreaterThan(1);
    expect((await outbox.due('s', now, 100)).map((e) => e.id)).toEqual(big.map((e) => e.id));
  });

  it('sizes pages in UTF-8 bytes, as DynamoDB does: entries in a three-byte script fit their pages', async () => {
    // 8,000 characters of 3 bytes each, 24 KB an entry: counted as two bytes a character, a page would take 18 of them (432 KB).
    const wide = Array.from({ length: 40 }, (_, i) => ({ ...entry(`wide${i}`), payload: '証'.repeat(8_000) }));
    await outbox.addAll('s', wide);
    for (const item of await items()) expect(Buffer.byteLength(String(item.entriesJson))).toBeLessThan(400 * 1024);
    expect((await outbox.due('s', now, 100)).map((e) => e.id)).toEqual(wide.map((e) => e.id));
  });

  it('leaves room in each page for its entries\' last errors: a page of small entries rescheduled with a long error stays under 400 KB', async () => {
    const small = Array.from({ length: 1500 }, (_, i) => entry(`s${i}`));
    await outbox.addAll('s', small);
    // A TLS name mismatch lists every name the certificate holds: errors can be long.
    const error = `certificate names ${'x'.repeat(60)}.example.com, `.repeat(100);
    await outbox.reschedule('s', small.map((e) => ({ ...e, attempts: 1, nextAttemptAt: '2026-12-01T12:00:00.000Z', lastError: error })));
    for (const item of await items()) expect(Buffer.byteLength(String(item.entriesJson))).toBeLessThan(400 * 1024);
    const kept = await outbox.peek('s', 1500);
    expect(kept).toHaveLength(1500);
    expect(kept.every((e) => e.lastError === error.slice(0, 200))).toBe(true);
  });

  it('reads, removes and dead-letters entries an earlier version wrote one an item', async () => {
    for (const e of [entry('old-1'), entry('old-2')]) await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...e, pk: 'OUTBOX#s', sk: `${e.createdAt}#${e.id}` } }));
    await outbox.addAll('s', [entry('new', '2026-12-01T10:30:00.000Z')]);
    expect((await outbox.due('s', now, 10)).map((e) => e.id)).toEqual(['old-1', 'old-2', 'new']);
    await outbox.remove('s', [entry('old-1')]);
    await outbox.deadLetter('s', [{ ...entry('old-2'), attempts: 5 }]);
    expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['new']);
    expect((await outbox.deadLetters('s')).map((e) => [e.id, e.attempts])).toEqual([['old-2', 5]]);
    expect(await outbox.requeueDeadLetters('s', now)).toBe(1);
    expect((await outbox.due('s', now, 10)).map((e) => [e.id, e.attempts])).toEqual([['old-2', 0], ['new', 0]]);
  });

  /** The Limit of each Query the outbox makes while `work` runs. */
  async function queriesDuring(work: () => Promise<unknown>): Promise<(number | undefined)[]> {
    const limits: (number | undefined)[] = [];
    const send = db.table.doc.send.bind(db.table.doc);
    db.table.doc.send = ((command: { input: { Limit?: number } }) => {
      if (command instanceof QueryCommand) limits.push(command.input.Limit);
      return send(command as never);
    }) as typeof db.table.doc.send;
    try {
      await work();
    } finally {
      db.table.doc.send = send;
    }
    return limits;
  }

  it('reads a backlog a few pages at a time: a flush that wants one batch does not read every page queued', async () => {
    for (let i = 0; i < 40; i++) await outbox.addAll('s', [entry(`e${String(i).padStart(2, '0')}`, `2026-12-01T10:00:${String(i).padStart(2, '0')}.000Z`)]);
    expect(await queriesDuring(() => outbox.due('s', now, 1))).toEqual([2]);
    // Each further query asks for four times as many, until enough are read.
    let due: OutboxEntry[] = [];
    expect(await queriesDuring(async () => (due = await outbox.due('s', now, 30)))).toEqual([2, 8, 32]);
    expect(due.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => `e${String(i).padStart(2, '0')}`));
  });

  it('removes what it just read without reading the outbox again, and reads again when its view is stale', async () => {
    await outbox.addAll('s', [entry('a'), entry('b'), entry('c')]);
    await outbox.due('s', now, 10);
    expect(await queriesDuring(() => outbox.remove('s', [entry('a')]))).toEqual([]);
    // Its view holds the page as it wrote it: the next removal needs no read either.
    expect(await queriesDuring(() => outbox.remove('s', [entry('b')]))).toEqual([]);
    const [page] = await items();
    // Another flusher rewrote the page since this one last saw it: the conditional write fails, and the page is read again.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...page, version: Number(page.version) + 1, entriesJson: JSON.stringify([entry('c'), entry('d')]) } }));
    expect((await queriesDuring(() => outbox.remove('s', [entry('c')]))).length).toBeGreaterThan(0);
    expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['d']);
  });

  it('reads a page again when another writer rewrote it meanwhile (a flusher whose lease ran out)', async () => {
    await outbox.addAll('s', [entry('a'), entry('b'), entry('c')]);
    const [page] = await items();
    // Another flusher removed c after this one read the page.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...page, version: 1, entriesJson: JSON.stringify([entry('a'), entry('b')]) } }));
    await outbox.remove('s', [entry('a')]);
    expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['b']);
  });
});
