import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditFilter, AuditTrail } from '../../shared/ports.ts';
import type { Page } from '../../shared/model.ts';
import { GENESIS, recordHash, type AuditRecord } from '../../shared/audit-chain.ts';
import { getItem, isConditionFailure, putIfAbsent, queryPage, withoutKeys, type Table } from './table.ts';

const HEAD = { pk: 'AUDIT', sk: 'HEAD' };
const pad = (seq: number) => String(seq).padStart(12, '0');
type AuditEvent = Parameters<AuditTrail['append']>[0];
const recordKey = (seq: number) => ({ pk: 'AUDIT', sk: `R#${pad(seq)}` });
const markerKey = (eventId: string) => ({ pk: `AUDITID#${eventId}`, sk: 'AUDITID' });

/** A record as stored: the detail as its JSON text, since a producer's detail may hold any key (even `constructor`). */
function toItem(record: AuditRecord) {
  const { detail, ...rest } = record;
  return { ...rest, detailJson: JSON.stringify(detail) };
}

function fromItem(item: Record<string, unknown>): AuditRecord {
  const { detailJson, ...rest } = withoutKeys<Omit<AuditRecord, 'detail'> & { detailJson: string }>(item);
  return { ...rest, detail: JSON.parse(detailJson) };
}

/**
 * The hash-chained audit trail in the table, with single-item conditional writes only: a record
 * takes the next sequence number only if it is free, then the head moves forward if nobody moved
 * it first. A writer that loses a race, or finds a record the head does not know about (a crash
 * between the two writes), moves the head forward and tries again.
 */
export class DynamoAuditTrail implements AuditTrail {
  /** Appends from one process queue behind each other: racing them would only make them retry. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly table: Table) {}

  append(event: AuditEvent): Promise<AuditRecord> {
    const next = this.queue.then(() => this.appendNow(event));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The record the event's marker points to, if that record is the event's (a marker written before a crash may point to nothing, or to a number another event took). */
  private async recorded(eventId: string): Promise<{ record?: AuditRecord; markedSeq?: number }> {
    const marker = await getItem(this.table, markerKey(eventId));
    if (!marker) return {};
    const item = await getItem(this.table, recordKey(Number(marker.seq)));
    const record = item ? fromItem(item) : undefined;
    return record?.eventId === eventId ? { record } : { markedSeq: Number(marker.seq) };
  }

  /**
   * The marker names the sequence number before the record is written there, so a crash between
   * the two writes leaves a marker that points to nothing (or to another event's record), never a
   * record nobody can find: the retry writes it once. The marker moves only from what this writer
   * read, so a copy of the same event racing this one finds the first copy's number.
   */
  private async appendNow(event: AuditEvent): Promise<AuditRecord> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { record: existing, markedSeq } = await this.recorded(event.eventId);
      if (existing) return existing;
      const head = (await getItem(this.table, HEAD)) ?? { seq: 0, hash: GENESIS };
      const draft = { seq: Number(head.seq) + 1, prevHash: String(head.hash), ...event };
      const record: AuditRecord = { ...draft, hash: recordHash(draft) };
      if (!(await this.mark(event.eventId, record.seq, markedSeq))) continue;
      const taken = !(await putIfAbsent(this.table, { ...toItem(record), ...recordKey(record.seq), ...(event.certificateId ? { gsi1pk: `AUDITCERT#${event.certificateId}`, gsi1sk: pad(record.seq) } : {}) }));
      const winner = taken ? fromItem((await getItem(this.table, recordKey(record.seq)))!) : record;
      await this.advanceHead(Number(head.seq), winner);
      if (!taken) return record;
      // Another process won this sequence number: back off a random while so the racers spread out.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
    throw new Error('the audit trail is too busy to append to; the event will be retried');
  }

  /** Points the event's marker at `seq`, if it still points where it did when read (nowhere, or `from`). */
  private async mark(eventId: string, seq: number, from: number | undefined): Promise<boolean> {
    try {
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        Item: { ...markerKey(eventId), seq },
        ConditionExpression: from === undefined ? 'attribute_not_exists(pk)' : '#s = :from',
        ExpressionAttributeNames: from === undefined ? undefined : { '#s': 'seq' },
        ExpressionAttributeValues: from === undefined ? undefined : { ':from': from },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  private async advanceHead(fromSeq: number, to: AuditRecord): Promise<void> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: HEAD,
        UpdateExpression: 'SET #s = :s, #h = :h',
        ConditionExpression: 'attribute_not_exists(#s) OR #s = :from',
        ExpressionAttributeNames: { '#s': 'seq', '#h': 'hash' },
        ExpressionAttributeValues: { ':s': to.seq, ':h': to.hash, ':from': fromSeq },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async list(filter: AuditFilter, limit: number, nextToken?: string): Promise<Page<AuditRecord>> {
    const items: AuditRecord[] = [];
    let token = nextToken;
    const query = filter.certificateId
      ? { index: 'gsi1', pkName: 'gsi1pk', pk: `AUDITCERT#${filter.certificateId}` }
      : { pkName: 'pk', pk: 'AUDIT', skPrefix: 'R#' };
    do {
      const page = await queryPage(this.table, { ...query, limit: limit - items.length, nextToken: token });
      items.push(...page.items.map(fromItem).filter((r) =>
        (!filter.detailType || r.detailType === filter.detailType) && (!filter.from || r.occurredAt >= filter.from) && (!filter.to || r.occurredAt < filter.to)));
      token = page.nextToken;
    } while (token && items.length < limit);
    return { items, nextToken: token };
  }

  async *all(): AsyncIterable<AuditRecord> {
    let token: string | undefined;
    do {
      const page = await queryPage(this.table, { pkName: 'pk', pk: 'AUDIT', skPrefix: 'R#', limit: 500, nextToken: token });
      for (const item of page.items) yield fromItem(item);
      token = page.nextToken;
    } while (token);
  }
}

