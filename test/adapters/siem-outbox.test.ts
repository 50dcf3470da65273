import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchGetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
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

  /** The reads the outbox makes while `work` runs: each Query (with its Limit, or `keys` for a keys-only one) and each BatchGetItem. */
  async function readsDuring(work: () => Promise<unknown>): Promise<string[]> {
    const reads: string[] = [];
    const send = db.table.doc.send.bind(db.table.doc);
    db.table.doc.send = ((command: { input: { Limit?: number; ProjectionExpression?: string } }) => {
      if (command instanceof QueryCommand) reads.push(command.input.ProjectionExpression ? 'keys' : `query ${command.input.Limit}`);
      if (command instanceof BatchGetCommand) reads.push('pages');
      return send(command as never);
    }) as typeof db.table.doc.send;
    try {
      await work();
    } finally {
      db.table.doc.send = send;
    }
    return reads;
  }

  it('reads a backlog a few pages at a time: a flush that wants one batch does not read every page queued', async () => {
    for (let i = 0; i < 40; i++) await outbox.addAll('s', [entry(`e${String(i).padStart(2, '0')}`, `2026-12-01T10:00:${String(i).padStart(2, '0')}.000Z`)]);
    expect(await readsDuring(() => outbox.due('s', now, 1))).toEqual(['query 2']);
    // Each further query asks for four times as many, until enough are read.
    let due: OutboxEntry[] = [];
    expect(await readsDuring(async () => (due = await outbox.due('s', now, 30)))).toEqual(['query 2', 'query 8', 'query 32']);
    expect(due.map((e) => e.id)).toEqual(Array.from({ length: 30 }, (_, i) => `e${String(i).padStart(2, '0')}`));
  });

  it('removes what it just read after listing keys only, and reads a page again when another writer changed it', async () => {
    await outbox.addAll('s', [entry('a'), entry('b'), entry('c')]);
    await outbox.due('s', now, 10);
    expect(await readsDuring(() => outbox.remove('s', [entry('a')]))).toEqual(['keys']);
    // Its view holds the page as it wrote it: the next removal reads no page either.
    expect(await readsDuring(() => outbox.remove('s', [entry('b')]))).toEqual(['keys']);
    const [page] = await items();
    // Another flusher rewrote the page since this one last saw it: the listing says so, and the page is read again.
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...page, version: 'elsewhere', entriesJson: JSON.stringify([entry('c'), entry('d')]) } }));
    expect(await readsDuring(() => outbox.remove('s', [entry('c')]))).toEqual(['keys', 'pages']);
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

  // Found in review of the outbox's progressive reads and of its view of the pages it read last:
  // every copy of an entry goes with it, whatever pages a read covered, whoever wrote them since.
  describe('copies of an entry, and pages other writers changed', () => {
    const t = (s: number) => `2026-12-01T10:00:${String(s).padStart(2, '0')}.000Z`;
    // A copy in a page past the first query's two goes too: left, it would be sent again.
    it('removes an entry queued in two pages from both, even when the second copy is the third page', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('b', t(1)), entry('c', t(3))]); // page X, sk t1
      await outbox.addAll('s', [entry('x', t(2))]);                                   // page Y, sk t2
      await outbox.addAll('s', [entry('c', t(3)), entry('d', t(4))]);                 // page Z, sk t3: c redelivered in another make-up
      const batch = await outbox.due('s', now, 3);
      expect(batch.map((e) => e.id)).toEqual(['a', 'b', 'c']);
      await outbox.remove('s', batch); // sent: a, b, c
      // c must not come back: it was delivered
      expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['x', 'd']);
    });

    // Dead-lettering: the copy outside the view survives deadLetter and is delivered later.
    it('dead-letters an entry queued in two pages out of both', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('c', t(3))]);
      await outbox.addAll('s', [entry('x', t(2))]);
      await outbox.addAll('s', [entry('c', t(3))]);
      const batch = await outbox.due('s', now, 2); // reads 2 pages: a, c, x
      const c = batch.find((e) => e.id === 'c')!;
      await outbox.deadLetter('s', [{ ...c, attempts: 5 }]);
      expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['a', 'x']);
    });

    // A view that holds one entry twice and another not at all is no complete view.
    it('does not report an entry removed that its cached view does not hold (a duplicate counted twice)', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('c', t(3))]); // X
      await outbox.addAll('s', [entry('c', t(3))]);                   // Z (sk t3)
      await outbox.addAll('s', [entry('b', t(5))]);                   // B (sk t5), past the first two pages
      await outbox.peek('s', 2); // another reader in this process (GET /siem/sinks, a non-lease due) leaves a view of X and Z
      await outbox.remove('s', [entry('c', t(3)), entry('b', t(5))]);
      expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['a']);
    });

    // A view of a page another process since deleted and queued again under the same key.
    it('removes from a page deleted and queued again since this process read it', async () => {
      const other = new DynamoSiemOutbox(db.table, () => ['s']);
      await outbox.addAll('s', [entry('a'), entry('b')]);
      await outbox.due('s', now, 10); // this view: the page [a, b]
      await other.remove('s', [entry('a'), entry('b')]); // delivered elsewhere, page deleted
      await other.addAll('s', [entry('a'), entry('b')]); // queued again: the same key
      await outbox.remove('s', [entry('a')]);
      expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['b']);
    });

    it('reschedules, then removes from the page it rewrote, with a read under way', async () => {
      await outbox.addAll('s', [entry('a'), entry('b'), entry('c')]);
      await outbox.due('s', now, 10);
      await outbox.reschedule('s', [{ ...entry('a'), attempts: 1, nextAttemptAt: '2026-12-01T12:00:00.000Z', lastError: 'x' }]);
      const [r] = await Promise.all([outbox.peek('s', 10), outbox.remove('s', [entry('b')])]);
      expect(r.length).toBeGreaterThan(0);
      await outbox.remove('s', [entry('c')]);
      const left = await outbox.peek('s', 10);
      expect(left.map((e) => [e.id, e.attempts])).toEqual([['a', 1]]);
      expect(await items()).toHaveLength(1);
    });
    // A copy queued after the flusher's read and before its removal goes too.
    it('removes a copy of a sent entry queued while the batch was being sent', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('c', t(3))]);
      const batch = await outbox.due('s', now, 10);
      await new DynamoSiemOutbox(db.table, () => ['s']).addAll('s', [entry('c', t(3)), entry('d', t(4))]); // another exporter, during send
      await outbox.remove('s', batch);
      expect((await outbox.peek('s', 10)).map((e) => e.id)).toEqual(['d']);
    });

    it('takes two removals at once from one page, and one from another', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('b', t(1))]);
      await outbox.addAll('s', [entry('x', t(2)), entry('y', t(2))]);
      await outbox.due('s', now, 10);
      await Promise.all([outbox.remove('s', [entry('a', t(1))]), outbox.remove('s', [entry('b', t(1))]), outbox.remove('s', [entry('x', t(2))])]);
      await outbox.remove('s', [entry('y', t(2))]);
      expect(await outbox.peek('s', 10)).toEqual([]);
      expect(await items()).toHaveLength(0);
    });

    it('reads an earlier version\'s one-entry item again when another process rewrote it', async () => {
      const e = entry('old');
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...e, pk: 'OUTBOX#s', sk: `${e.createdAt}#${e.id}` } }));
      await outbox.due('s', now, 10);
      await new DynamoSiemOutbox(db.table, () => ['s']).reschedule('s', [{ ...e, attempts: 1, nextAttemptAt: '2026-12-01T12:00:00.000Z' }]);
      await outbox.reschedule('s', [{ ...e, attempts: 2, nextAttemptAt: '2026-12-01T13:00:00.000Z' }]);
      expect((await outbox.peek('s', 10)).map((x) => [x.id, x.attempts])).toEqual([['old', 2]]);
      await outbox.remove('s', [e]);
      expect(await items()).toHaveLength(0);
    });

    it('reads the oldest due entries first from many small pages, past rescheduled ones', async () => {
      for (let i = 0; i < 60; i++) await outbox.addAll('s', [entry(`e${String(i).padStart(2, '0')}`, t(i % 60))]);
      await outbox.reschedule('s', (await outbox.due('s', now, 20)).map((e) => ({ ...e, attempts: 1, nextAttemptAt: '2026-12-01T12:00:00.000Z' })));
      expect((await outbox.due('s', now, 5)).map((e) => e.id)).toEqual(['e20', 'e21', 'e22', 'e23', 'e24']);
    });
    // Queued again and rewritten elsewhere: no two writes of a page share a version.
    it('does not resurrect an entry another process removed after the page was queued again', async () => {
      const other = new DynamoSiemOutbox(db.table, () => ['s']);
      await outbox.addAll('s', [entry('a'), entry('b')]);                        // P [a, b]
      await outbox.due('s', now, 10);
      await outbox.reschedule('s', [{ ...entry('a'), attempts: 1, lastError: 'x' }]); // this view: P [a', b]
      await other.addAll('s', [entry('a'), entry('b')]);                          // queued again: P [a, b]
      await other.remove('s', [entry('b')]);                                      // b sent elsewhere: P [a]
      await outbox.remove('s', [entry('a')]);                                     // its view is stale: it must not write P [b] back
      expect(await outbox.peek('s', 10)).toEqual([]);
    });

    // A page is named by its oldest entry's time: a removal lists the pages named up to its newest
    // entry's time, which holds only for times of characters that sort above `#`, a byte each.
    it('removes an entry whose page is named by a time that is a prefix of its own, or sorts otherwise in UTF-8 than in UTF-16', async () => {
      await outbox.addAll('s', [entry('g', '2026-12-01'), entry('e', '2026-12-01 10:00:00Z')]);
      await outbox.addAll('s', [entry('h', '\u{1F600}'), entry('f', '\uFF01')]);
      await outbox.due('s', now, 10);
      await outbox.remove('s', [entry('e', '2026-12-01 10:00:00Z'), entry('f', '\uFF01')]);
      expect((await outbox.peek('s', 10)).map((e) => e.id).sort()).toEqual(['g', 'h']);
      await outbox.deadLetter('s', [{ ...entry('g', '2026-12-01'), attempts: 5 }, { ...entry('h', '\u{1F600}'), attempts: 5 }]);
      expect(await items()).toHaveLength(0);
    });

    // Which pages come from the view is decided before the others are read: another rewrite in
    // this process may change the view meanwhile.
    it('removes an entry whose page another removal in this process rewrote while it read others', async () => {
      await outbox.addAll('s', [entry('a', t(1)), entry('b', t(1))]);
      await outbox.addAll('s', [entry('c', t(2))]);
      await outbox.due('s', now, 10);
      const q = (await items()).find((i) => String(i.entriesJson).includes('"c"'))!;
      // The page of c changed elsewhere: the removal below reads it again.
      await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...q, version: 'elsewhere' } }));
      const send = db.table.doc.send.bind(db.table.doc);
      let during = false;
      db.table.doc.send = (async (command: unknown) => {
        if (command instanceof BatchGetCommand && !during) {
          during = true;
          await outbox.remove('s', [entry('a', t(1))]);
        }
        return send(command as never);
      }) as typeof db.table.doc.send;
      try {
        await outbox.remove('s', [entry('b', t(1)), entry('c', t(2))]);
      } finally {
        db.table.doc.send = send;
      }
      expect(during).toBe(true);
      expect(await outbox.peek('s', 10)).toEqual([]);
    });
  });
});
