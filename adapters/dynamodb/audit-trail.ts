import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditFilter, AuditHead, AuditTrail } from '../../shared/ports.ts';
import type { Page } from '../../shared/model.ts';
import { GENESIS, recordHash, type AuditEvent, type AuditRecord } from '../../shared/audit-chain.ts';
import { batchGet, batchWrite } from './batch.ts';
import { expiresAfter, getItem, isConditionFailure, queryPage, withoutKeys, type Item, type Key, type Table } from './table.ts';

const HEAD = { pk: 'AUDIT', sk: 'HEAD' };
const pad = (seq: number) => String(seq).padStart(12, '0');
const recordKey = (seq: number) => ({ pk: 'AUDIT', sk: `R#${pad(seq)}` });
const markerKey = (eventId: string) => ({ pk: `AUDITID#${eventId}`, sk: 'AUDITID' });
/**
 * A marker finds an event's record when the event comes again; none comes again after an SQS
 * queue's longest retention (14 days) and its dead-letter queue's, so markers expire after 30 days
 * (the records themselves never do).
 */
const MARKER_DAYS = 30;
/** The head item carries a batch's records until they are written; DynamoDB items stop at 400 KB. */
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_ATTEMPTS = 50;

interface Head extends AuditHead {
  /** The records the head committed last, kept until they are surely written where they belong. */
  pending: AuditRecord[];
}

/** A record as stored: the detail as its JSON text, since a producer's detail may hold any key (even `constructor`). */
function toItem(record: AuditRecord): Item & Key {
  const { detail, ...rest } = record;
  return {
    ...rest, detailJson: JSON.stringify(detail), ...recordKey(record.seq),
    ...(record.certificateId ? { gsi1pk: `AUDITCERT#${record.certificateId}`, gsi1sk: pad(record.seq) } : {}),
  };
}

function fromItem(item: Record<string, unknown>): AuditRecord {
  const { detailJson, gsi1pk: _p, gsi1sk: _s, ...rest } = withoutKeys<Omit<AuditRecord, 'detail'> & { detailJson: string; gsi1pk?: string; gsi1sk?: string }>(item);
  return { ...rest, detail: JSON.parse(detailJson) };
}

/**
 * The hash-chained audit trail in the table, appended in batches by one conditional write each:
 * the head moves from the sequence number the writer read to the batch's last, carrying the
 * batch's records in the same item. That write is the commit; the records and the markers that
 * find a record by its event id are written after it, and a crash in between leaves them in the
 * head, where the next writer writes them again and readers find them. A writer that loses the
 * head to another reads it again and retries, so two writers never take the same number.
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

  async head(): Promise<Head> {
    const item = await getItem(this.table, HEAD);
    return { seq: Number(item?.seq ?? 0), hash: String(item?.hash ?? GENESIS), pending: item?.pendingJson ? JSON.parse(String(item.pendingJson)) : [] };
  }

  /**
   * The committed records of these events, by event id: those the head still carries (a crash kept
   * them from their place), and those a marker names (the marker is the event's only if the
   * record it names is the event's, at or below the head).
   */
  async recorded(eventIds: string[], head?: Head): Promise<Map<string, AuditRecord>> {
    const at = head ?? (await this.head());
    const markers = await batchGet(this.table, [...new Set(eventIds)].map(markerKey));
    const seqs = markers.map((m) => Number(m.seq)).filter((seq) => seq <= at.seq);
    const records = [...(await batchGet(this.table, [...new Set(seqs)].map(recordKey))).map(fromItem), ...at.pending];
    const wanted = new Set(eventIds);
    const found = new Map(records.filter((r) => wanted.has(r.eventId)).map((r) => [r.eventId, r]));
    if (!head) this.lastLookup = { head: at, wanted, found };
    return found;
  }

  /**
   * The last lookup a caller made (exporters look before they append): an append of those events
   * starts from it instead of reading the head and the markers again. Safe however stale: the
   * commit is conditional on that head, and a head that moved sends the append back to reading.
   */
  private lastLookup?: { head: Head; wanted: Set<string>; found: Map<string, AuditRecord> };

  /** The head and what it holds of `events`: the last lookup's when it covered them all, else read now. */
  private async lookup(events: AuditEvent[], fresh: boolean): Promise<{ head: Head; found: Map<string, AuditRecord> }> {
    const last = this.lastLookup;
    this.lastLookup = undefined;
    const reused = !fresh && last && events.every((e) => last.wanted.has(e.eventId));
    const head = reused ? last.head : await this.head();
    // What the head carries is written again only if this writer did not see it written (another
    // writer committed it, or a crash came between its commit and its records): a commit replaces it.
    if (head.pending.length && head.hash !== this.writtenHead) await this.write(head.pending);
    return { head, found: reused ? new Map(last.found) : await this.recorded(events.map((e) => e.eventId), head) };
  }

  private async appendNow(events: AuditEvent[]): Promise<AuditRecord[]> {
    const out = new Map<string, AuditRecord>();
    let rest = events;
    while (rest.length) {
      const batch = takeBatch(rest);
      rest = rest.slice(batch.length);
      for (const [id, record] of await this.appendBatch(batch)) out.set(id, record);
    }
    return events.map((e) => out.get(e.eventId)!);
  }

  private async appendBatch(events: AuditEvent[]): Promise<Map<string, AuditRecord>> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { head, found } = await this.lookup(events, attempt > 0);
      const fresh = [...new Map(events.filter((e) => !found.has(e.eventId)).map((e) => [e.eventId, e])).values()];
      if (fresh.length === 0) return found;
      const records = chained(fresh, head);
      if (await this.commit(head, records)) {
        await this.write(records);
        this.writtenHead = records[records.length - 1].hash;
        for (const r of records) found.set(r.eventId, r);
        return found;
      }
      // Another writer moved the head: back off a random while so the racers spread out.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
    throw new Error('the audit trail is too busy to append to; the events will be retried');
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

  /** Committed records and their markers, where readers look for them; writing them twice writes the same. */
  private async write(records: AuditRecord[]): Promise<void> {
    await batchWrite(this.table, records.flatMap((r) => [{ put: toItem(r) }, { put: { ...markerKey(r.eventId), seq: r.seq, ...expiresAfter(r.occurredAt, MARKER_DAYS) } }]));
  }

  /** Records in sequence order; the last page adds those the head carries that a crash kept from their place. */
  async list(filter: AuditFilter, limit: number, nextToken?: string): Promise<Page<AuditRecord>> {
    const head = await this.head();
    const matches = (r: AuditRecord) => (!filter.certificateId || r.certificateId === filter.certificateId) &&
      (!filter.detailType || r.detailType === filter.detailType) && (!filter.from || r.occurredAt >= filter.from) && (!filter.to || r.occurredAt < filter.to);
    const items: AuditRecord[] = [];
    let token = nextToken;
    const query = filter.certificateId
      ? { index: 'gsi1', pkName: 'gsi1pk', pk: `AUDITCERT#${filter.certificateId}` }
      : { pkName: 'pk', pk: 'AUDIT', skPrefix: 'R#' };
    do {
      const page = await queryPage(this.table, { ...query, limit: limit - items.length, nextToken: token });
      items.push(...page.items.map(fromItem).filter((r) => r.seq <= head.seq && matches(r)));
      token = page.nextToken;
    } while (token && items.length < limit);
    if (!token && head.pending.length) {
      // Only those a crash kept from their place: the others were listed where they are (on this page or an earlier one).
      const written = new Set((await batchGet(this.table, head.pending.map((r) => recordKey(r.seq)))).map((i) => Number(i.seq)));
      items.push(...head.pending.filter((r) => !written.has(r.seq) && matches(r)).slice(0, Math.max(0, limit - items.length)));
    }
    return { items, nextToken: token };
  }

  /** Every committed record in sequence order, up to the head read first (a batch the head holds but a crash kept from its place included). */
  async *all(): AsyncIterable<AuditRecord> {
    const head = await this.head();
    let token: string | undefined;
    let seq = 0;
    do {
      const page = await queryPage(this.table, { pkName: 'pk', pk: 'AUDIT', skPrefix: 'R#', limit: 500, nextToken: token });
      for (const record of page.items.map(fromItem)) {
        if (record.seq > head.seq) return;
        seq = record.seq;
        yield record;
      }
      token = page.nextToken;
    } while (token);
    for (const record of head.pending) if (record.seq > seq) yield record;
  }
}

/** The next batch: as many events as fit the head item's byte budget, at least one. */
function takeBatch(events: AuditEvent[]): AuditEvent[] {
  let bytes = 0;
  for (let n = 0; n < events.length; n++) {
    // Twice the JSON's length: each character stored may take two bytes, and the record adds its hashes.
    bytes += JSON.stringify(events[n]).length * 2;
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
