import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditFilter, AuditHead, AuditTrail, RecordedEvent } from '../../shared/ports.ts';
import { BusyError, ValidationError } from '../../shared/errors.ts';
import type { Page } from '../../shared/model.ts';
import { GENESIS, recordHash, type AuditEvent, type AuditRecord } from '../../shared/audit-chain.ts';
import { batchGet, writeAtOnce } from './batch.ts';
import { expiresAfter, isConditionFailure, queryPage, withoutKeys, type Item, type Key, type Table } from './table.ts';

const HEAD = { pk: 'AUDIT', sk: 'HEAD' };
const pad = (seq: number) => String(seq).padStart(12, '0');
/** A committed batch's records, in one item named by its first sequence number. */
const pageKey = (first: number) => ({ pk: 'AUDIT', sk: `P#${pad(first)}` });
/** One record per item, as versions before pages wrote them: read, never written. */
const recordKey = (seq: number) => ({ pk: 'AUDIT', sk: `R#${pad(seq)}` });
const MARKER = 'AUDITID#';
const markerKey = (eventId: string) => ({ pk: `${MARKER}${eventId}`, sk: 'AUDITID' });
/**
 * A marker finds an event's record when the event comes again; none comes again after an SQS
 * queue's longest retention (14 days) and its dead-letter queue's, so markers expire after 30 days.
 * A marker of an event about a certificate is also that certificate's index entry: it stays.
 */
const MARKER_DAYS = 30;
/**
 * The head item carries a batch's records until they are written; DynamoDB items stop at 400 KB,
 * and every commit reads the head back, so it stays well under that.
 */
const MAX_BATCH_BYTES = 192 * 1024;
/** What a record adds to its event's JSON: its seq and the two hashes, with their names. */
const RECORD_OVERHEAD_BYTES = 192;
const MAX_ATTEMPTS = 50;
/** Committed events a process keeps in memory (about 150 bytes each). */
const COMMITTED_KEPT = 50_000;
/** Hashes of the records last yielded that a walk keeps, to tell a copy of one from a forgery under its seq (more than a page and the head's batch hold). */
const OVERLAP_KEPT = 10_000;
/** Records one listing reads at most before it answers with a token (a filter that matches little must not read the whole trail). */
const MAX_READ_PER_LIST = 5000;

/** A recorded event as a marker names it (its page too), or a whole record. */
type Found = RecordedEvent & { page?: number };

interface Head extends AuditHead {
  /** The records the head committed last, kept until they are surely written where they belong. */
  pending: AuditRecord[];
}

/** A record as earlier versions stored it, one item each, the detail as its JSON text. */
function fromRecordItem(item: Record<string, unknown>): AuditRecord {
  const { detailJson, gsi1pk: _p, gsi1sk: _s, ...rest } = withoutKeys<Omit<AuditRecord, 'detail'> & { detailJson: string; gsi1pk?: string; gsi1sk?: string }>(item);
  return { ...rest, detail: JSON.parse(detailJson) };
}

/** A page's records, as JSON text: a producer's detail may hold any key (even `constructor`). */
const fromPage = (item: Record<string, unknown>): AuditRecord[] => JSON.parse(String(item.recordsJson));

/**
 * The marker of a committed record: where its page is, and the time it was recorded with (an
 * exporter tells by it which copy of an event the trail took); for an event about a certificate,
 * also that certificate's entry in the index its history is listed from, with the record itself (a
 * history then reads its records, not the whole page of each).
 */
function markerItem(record: AuditRecord, page: number): Item & Key {
  return {
    ...markerKey(record.eventId), seq: record.seq, page, occurredAt: record.occurredAt,
    ...(record.certificateId ? { gsi1pk: `AUDITCERT#${record.certificateId}`, gsi1sk: pad(record.seq), recordJson: JSON.stringify(record) } : expiresAfter(record.occurredAt, MARKER_DAYS)),
  };
}

/**
 * The hash-chained audit trail in the table, appended in batches by one conditional write each:
 * the head moves from the sequence number the writer read to the batch's last, carrying the
 * batch's records in the same item. That write is the commit; the batch's page (its records in
 * one item) and the markers that find a record by its event id are written after it, and a crash
 * in between leaves them in the head, where the next writer writes them again and readers find
 * them. A writer that loses the head to another reads it again and retries, so any number of
 * writers may append and none takes a number another took; the chain's order is the commits'.
 *
 * Items written per batch: the head, one page, and a marker per event (the one per-event write:
 * an event is found by its id when it comes again).
 */
export class DynamoAuditTrail implements AuditTrail {
  /** Appends from one process go one batch after another: racing them would only make them retry. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The head this writer committed and then wrote out itself: its records need no second write. */
  private writtenHead?: string;

  constructor(private readonly table: Table) {}

  append(event: AuditEvent): Promise<AuditRecord> {
    return this.appendAll([event]).then(([record]) => record);
  }

  appendAll(events: AuditEvent[]): Promise<AuditRecord[]> {
    const next = this.queue.then(() => this.appendNow(events));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Read strongly consistent: a writer that lost the head to another must see that commit, and the
   * markers written after it, or it could commit an event the other just did.
   */
  async head(): Promise<Head> {
    const [item] = await batchGet(this.table, [HEAD], true);
    return { seq: Number(item?.seq ?? 0), hash: String(item?.hash ?? GENESIS), pending: item?.pendingJson ? JSON.parse(String(item.pendingJson)) : [] };
  }

  /**
   * The committed records of these events, by event id, as their markers name them (a marker at
   * or below the head is written only after its record's commit) and as the head still carries
   * them (a crash kept them from their place).
   */
  async recorded(eventIds: string[], head?: Head): Promise<Map<string, Found>> {
    const known = new Map(eventIds.filter((id) => this.committed.has(id)).map((id) => [id, this.committed.get(id)!]));
    const unknown = [...new Set(eventIds.filter((id) => !known.has(id)))];
    // All committed before, as this process saw: nothing to read (and no lookup an append could reuse).
    if (unknown.length === 0 && !head) return (this.lastLookup = undefined), known;
    const at = head ?? (await this.head());
    const markers = (await batchGet(this.table, unknown.map(markerKey), true)).filter((m) => Number(m.seq) <= at.seq);
    const found = new Map<string, Found>(known);
    for (const m of markers.filter((m) => m.occurredAt)) {
      const eventId = String(m.pk).slice(MARKER.length);
      found.set(eventId, { eventId, seq: Number(m.seq), occurredAt: String(m.occurredAt), page: Number(m.page) });
    }
    // An earlier version's marker names only its record's number: the record says the rest.
    const older = markers.filter((m) => !m.occurredAt).map((m) => recordKey(Number(m.seq)));
    const wanted = new Set(eventIds);
    for (const r of [...(await batchGet(this.table, older)).map(fromRecordItem), ...at.pending]) if (wanted.has(r.eventId)) found.set(r.eventId, r);
    this.remember(found.values());
    if (!head) this.lastLookup = { head: at, wanted, found };
    return found;
  }

  /**
   * Events this process saw committed, most recent last, at most COMMITTED_KEPT: a committed
   * record never changes, so the exporter's check of what it just appended (before sending it to
   * a sink) and a redelivery's check read nothing.
   */
  private readonly committed = new Map<string, Found>();

  private remember(found: Iterable<Found>): void {
    // Those an earlier version wrote (no page) are left to be read where they are.
    for (const f of found) if (f.page !== undefined) this.committed.set(f.eventId, { eventId: f.eventId, seq: f.seq, occurredAt: f.occurredAt, page: f.page });
    for (const id of this.committed.keys()) {
      if (this.committed.size <= COMMITTED_KEPT) break;
      this.committed.delete(id);
    }
  }

  /**
   * The last lookup a caller made (exporters look before they append): an append of those events
   * starts from it instead of reading the head and the markers again. Safe however stale: the
   * commit is conditional on that head, and a head that moved sends the append back to reading.
   */
  private lastLookup?: { head: Head; wanted: Set<string>; found: Map<string, Found> };

  /** The head and what it holds of `events`: the last lookup's when it covered them all, else read now. */
  private async lookup(events: AuditEvent[], fresh: boolean): Promise<{ head: Head; found: Map<string, Found>; wanted: Set<string> }> {
    const last = this.lastLookup;
    this.lastLookup = undefined;
    const reused = !fresh && last && events.every((e) => last.wanted.has(e.eventId));
    const head = reused ? last.head : await this.head();
    // What the head carries is written again only if this writer did not see it written (another
    // writer committed it, or a crash came between its commit and its page): a commit replaces it.
    if (head.pending.length && head.hash !== this.writtenHead) await this.write(head.pending);
    if (reused) return { head, found: new Map(last.found), wanted: last.wanted };
    return { head, found: await this.recorded(events.map((e) => e.eventId), head), wanted: new Set(events.map((e) => e.eventId)) };
  }

  private async appendNow(events: AuditEvent[]): Promise<AuditRecord[]> {
    const out = new Map<string, Found>();
    let rest = events;
    while (rest.length) {
      const batch = takeBatch(rest);
      rest = rest.slice(batch.length);
      for (const [id, record] of await this.appendBatch(batch)) out.set(id, record);
    }
    // An event recorded before is answered from its marker: its record is read from its page.
    const read = await this.pagedRecords([...out.values()].filter((r) => !('hash' in r)));
    return events.map((e) => {
      const r = out.get(e.eventId)!;
      return 'hash' in r ? (r as AuditRecord) : read.get(r.seq)!;
    });
  }

  private async appendBatch(events: AuditEvent[]): Promise<Map<string, Found>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { head, found, wanted } = await this.lookup(events, attempt > 0);
      const fresh = [...new Map(events.filter((e) => !found.has(e.eventId)).map((e) => [e.eventId, e])).values()];
      if (fresh.length === 0) return found;
      const records = chained(fresh, head);
      if (await this.commit(head, records)) {
        await this.write(records);
        const last = records[records.length - 1];
        this.writtenHead = last.hash;
        for (const r of records) found.set(r.eventId, r);
        // The next part of a burst starts from the head this commit made, with what was found already.
        this.lastLookup = { head: { seq: last.seq, hash: last.hash, pending: records }, wanted, found: new Map(found) };
        this.remember(records.map((r) => ({ eventId: r.eventId, seq: r.seq, occurredAt: r.occurredAt, page: records[0].seq })));
        return found;
      }
      // Another writer moved the head: back off a random while so the racers spread out.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
    throw new BusyError('the audit trail is too busy to append to; the events will be retried', 'audit');
  }

  /** Moves the head from where it was read to the batch's last record, if nobody moved it first. */
  private async commit(from: AuditHead, records: AuditRecord[]): Promise<boolean> {
    const last = records[records.length - 1];
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: HEAD,
        UpdateExpression: 'SET #s = :s, #h = :h, #p = :p',
        ConditionExpression: from.seq === 0 ? 'attribute_not_exists(#s) OR #s = :from' : '#s = :from',
        ExpressionAttributeNames: { '#s': 'seq', '#h': 'hash', '#p': 'pendingJson' },
        ExpressionAttributeValues: { ':s': last.seq, ':h': last.hash, ':p': JSON.stringify(records), ':from': from.seq },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /** A committed batch's page and its markers, where readers look for them; writing them twice writes the same. */
  private async write(records: AuditRecord[]): Promise<void> {
    const first = records[0].seq;
    await writeAtOnce(this.table, [
      { put: { ...pageKey(first), first, last: records[records.length - 1].seq, recordsJson: JSON.stringify(records) } },
      ...records.map((r) => ({ put: markerItem(r, first) })),
    ]);
  }

  /** The whole records of events found by their markers, from their pages. */
  private async pagedRecords(found: Found[]): Promise<Map<number, AuditRecord>> {
    const pages = await batchGet(this.table, [...new Set(found.map((f) => f.page!))].map(pageKey));
    const wanted = new Set(found.map((f) => f.seq));
    return new Map(pages.flatMap(fromPage).filter((r) => wanted.has(r.seq)).map((r) => [r.seq, r]));
  }

  /**
   * Records in sequence order from `from` up to `head`: those earlier versions wrote one item each
   * (every page came after them), then the pages from the one holding `from`, then what the head
   * carries that a crash kept from its place. A record met twice (a batch an upgrade wrote again
   * as a page) is yielded once.
   */
  private async *walk(from: number, head: Head): AsyncGenerator<AuditRecord> {
    let seq = from - 1;
    // The hashes of the records yielded last, by seq: a copy of one of them (the head's copy of its
    // last batch, an upgrade's page of an earlier version's records) is the same record; a record
    // under a seq already yielded that differs is not, and is yielded for verify to report (an
    // overlapping page is a forgery, not a copy to skip).
    const yielded = new Map<number, string>();
    const fresh = (records: AuditRecord[]) => {
      const out: AuditRecord[] = [];
      for (const r of records) {
        if (r.seq > head.seq) continue;
        if (r.seq <= seq) {
          const known = yielded.get(r.seq);
          if (known !== undefined && known !== r.hash) out.push(r);
          continue;
        }
        seq = r.seq;
        out.push(r);
        yielded.set(r.seq, r.hash);
        if (yielded.size > OVERLAP_KEPT) yielded.delete(yielded.keys().next().value!);
      }
      return out;
    };
    // The page holding `from` starts at or before it.
    const holding = await this.range('P#', pageKey(from).sk, true, 1).next();
    const paged = recordsOf(this.range(holding.done ? 'P#' : String(holding.value.sk), 'P#~', false), fromPage);
    // Records an earlier version wrote an item each, merged in by seq: during a rolling deploy an
    // invocation of that version can still append them after pages exist.
    const itemized = recordsOf(this.range(recordKey(from).sk, 'R#~', false), (item) => [fromRecordItem(item)]);
    for await (const r of bySeq(itemized, paged)) {
      yield* fresh([r]);
      if (seq >= head.seq) return;
    }
    yield* fresh(head.pending);
  }

  /** The trail partition's items with sort keys from `lo` to `hi`, in order (newest first if asked), `limit` at most. */
  private async *range(lo: string, hi: string, newestFirst: boolean, limit?: number): AsyncGenerator<Item> {
    let start: Record<string, unknown> | undefined;
    let left = limit ?? Infinity;
    do {
      const out = await this.table.doc.send(new QueryCommand({
        TableName: this.table.name, KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':p': 'AUDIT', ':lo': lo, ':hi': hi }, ScanIndexForward: !newestFirst, ExclusiveStartKey: start,
        ...(limit ? { Limit: left } : {}),
      }));
      for (const item of out.Items ?? []) {
        yield item;
        if (--left <= 0) return;
      }
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Records matching the filter in sequence order, `limit` at most. The token is the next
   * sequence number to read (a certificate's history: its index's place), and a page answers with
   * one when it stopped at `limit` or at the most one listing reads.
   */
  async list(filter: AuditFilter, limit: number, nextToken?: string): Promise<Page<AuditRecord>> {
    const head = await this.head();
    const matches = (r: AuditRecord) => (!filter.certificateId || r.certificateId === filter.certificateId) &&
      (!filter.detailType || r.detailType === filter.detailType) && (!filter.from || r.occurredAt >= filter.from) && (!filter.to || r.occurredAt < filter.to);
    if (filter.certificateId) return this.certificateHistory(filter.certificateId, matches, head, limit, nextToken);
    const from = nextToken === undefined ? 1 : Number(nextToken);
    if (!Number.isSafeInteger(from) || from < 1) throw new ValidationError('nextToken is not a token this listing gave', 'nextToken');
    const items: AuditRecord[] = [];
    let read = 0;
    let last = from - 1;
    for await (const r of this.walk(from, head)) {
      last = r.seq;
      if (matches(r)) items.push(r);
      if (items.length >= limit || ++read >= MAX_READ_PER_LIST) break;
    }
    return { items, nextToken: last < head.seq && (items.length >= limit || read >= MAX_READ_PER_LIST) ? String(last + 1) : undefined };
  }

  /** A certificate's records through the index its markers (and earlier versions' records) are in; the last page adds those the head carries that are not written yet. */
  private async certificateHistory(certificateId: string, matches: (r: AuditRecord) => boolean, head: Head, limit: number, nextToken?: string): Promise<Page<AuditRecord>> {
    const page = await queryPage(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: `AUDITCERT#${certificateId}`, limit, nextToken });
    const entries = page.items.filter((i) => Number(i.seq) <= head.seq);
    const record = (i: Item): AuditRecord => (String(i.pk).startsWith(MARKER) ? JSON.parse(String(i.recordJson)) : fromRecordItem(i));
    // The same record twice (an upgrade wrote an earlier version's last batch again as a page) is listed once.
    const items = [...new Map(entries.map(record).map((r) => [r.seq, r])).values()].filter(matches);
    if (!page.nextToken && head.pending.length) {
      const marked = new Set((await batchGet(this.table, head.pending.map((r) => markerKey(r.eventId)))).map((m) => Number(m.seq)));
      items.push(...head.pending.filter((r) => !marked.has(r.seq) && matches(r)).slice(0, Math.max(0, limit - items.length)));
    }
    return { items, nextToken: page.nextToken };
  }

  /** Every committed record in sequence order, up to the head read first (a batch the head holds but a crash kept from its place included). */
  async *all(): AsyncIterable<AuditRecord> {
    yield* this.walk(1, await this.head());
  }
}

/** The records of a query's items, in the order of the items. */
async function* recordsOf(items: AsyncIterable<Item>, read: (item: Item) => AuditRecord[]): AsyncGenerator<AuditRecord> {
  for await (const item of items) yield* read(item);
}

/** Two streams of records, each in seq order, as one in seq order (a record in both comes twice). */
async function* bySeq(a: AsyncIterator<AuditRecord>, b: AsyncIterator<AuditRecord>): AsyncGenerator<AuditRecord> {
  let [x, y] = await Promise.all([a.next(), b.next()]);
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.seq <= y.value.seq)) {
      yield x.value;
      x = await a.next();
    } else {
      yield y.value;
      y = await b.next();
    }
  }
}

/** The next batch: as many events as fit the head item's byte budget, at least one. */
function takeBatch(events: AuditEvent[]): AuditEvent[] {
  let bytes = 0;
  for (let n = 0; n < events.length; n++) {
    // The JSON's UTF-8 bytes, as DynamoDB counts them, and what the record adds (seq and hashes).
    bytes += Buffer.byteLength(JSON.stringify(events[n])) + RECORD_OVERHEAD_BYTES;
    if (n > 0 && bytes > MAX_BATCH_BYTES) return events.slice(0, n);
  }
  return events;
}

/** The events as records chained on from the head. */
function chained(events: AuditEvent[], head: AuditHead): AuditRecord[] {
  const records: AuditRecord[] = [];
  let previous = { seq: head.seq, hash: head.hash };
  for (const event of events) {
    const draft = { seq: previous.seq + 1, prevHash: previous.hash, ...event };
    const record = { ...draft, hash: recordHash(draft) };
    records.push(record);
    previous = record;
  }
  return records;
}
