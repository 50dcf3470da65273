import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { OutboxEntry, SiemOutbox } from '../../shared/ports.ts';
import { batchWrite } from './batch.ts';
import { getItem, idSortKey, putIfAbsent, queryAll, queryPage, withoutKeys, type Table } from './table.ts';

const outboxKey = (sink: string, e: Pick<OutboxEntry, 'createdAt' | 'id'>) => ({ pk: `OUTBOX#${sink}`, sk: `${e.createdAt}#${idSortKey(e.id)}` });
const deadKey = (sink: string, e: Pick<OutboxEntry, 'createdAt' | 'id'>) => ({ pk: `SIEMDLQ#${sink}`, sk: `${e.createdAt}#${idSortKey(e.id)}` });

/** Per-sink outboxes and dead letters in the table, oldest first by the time an event was queued. */
export class DynamoSiemOutbox implements SiemOutbox {
  constructor(private readonly table: Table, private readonly sinks: () => string[]) {}

  async addAll(sink: string, entries: OutboxEntry[]): Promise<void> {
    await batchWrite(this.table, entries.map((e) => ({ put: { ...e, ...outboxKey(sink, e) } })));
  }

  async peek(sink: string, limit: number): Promise<OutboxEntry[]> {
    return (await queryPage(this.table, { pkName: 'pk', pk: `OUTBOX#${sink}`, limit })).items.map((i) => withoutKeys<OutboxEntry>(i));
  }

  async due(sink: string, now: Date, limit: number): Promise<OutboxEntry[]> {
    const due: OutboxEntry[] = [];
    let token: string | undefined;
    do {
      const page = await queryPage(this.table, { pkName: 'pk', pk: `OUTBOX#${sink}`, limit: Math.max(limit, 100), nextToken: token });
      due.push(...page.items.map((i) => withoutKeys<OutboxEntry>(i)).filter((e) => e.nextAttemptAt <= now.toISOString()));
      token = page.nextToken;
    } while (token && due.length < limit);
    return due.slice(0, limit);
  }

  async remove(sink: string, entries: OutboxEntry[]): Promise<void> {
    await batchWrite(this.table, entries.map((e) => ({ delete: outboxKey(sink, e) })));
  }

  async reschedule(sink: string, entries: OutboxEntry[]): Promise<void> {
    await Promise.all(entries.map((e) => this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...e, ...outboxKey(sink, e) } }))));
  }

  async pause(sink: string, until: Date): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { pk: `OUTBOXSTATE#${sink}`, sk: 'STATE', pausedUntil: until.toISOString() } }));
  }

  async pausedUntil(sink: string): Promise<Date | undefined> {
    const item = await getItem(this.table, { pk: `OUTBOXSTATE#${sink}`, sk: 'STATE' });
    return item?.pausedUntil ? new Date(String(item.pausedUntil)) : undefined;
  }

  async deadLetter(sink: string, entries: OutboxEntry[]): Promise<void> {
    for (const e of entries) {
      await putIfAbsent(this.table, { ...e, sink, ...deadKey(sink, e) });
      await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: outboxKey(sink, e) }));
    }
  }

  async deadLetters(sink?: string): Promise<(OutboxEntry & { sink: string })[]> {
    const names = sink ? [sink] : this.sinks();
    const all = await Promise.all(names.map(async (s) => (await queryAll(this.table, { pkName: 'pk', pk: `SIEMDLQ#${s}` })).map((i) => ({ ...withoutKeys<OutboxEntry>(i), sink: s }))));
    return all.flat();
  }

  async requeueDeadLetters(sink: string | undefined, now: Date): Promise<number> {
    const letters = await this.deadLetters(sink);
    // Someone asked for a replay: whatever hold the last failure put on the sinks is lifted.
    for (const s of sink ? [sink] : this.sinks()) await this.pause(s, now);
    for (const l of letters) {
      const { sink: s, ...entry } = l;
      await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...entry, attempts: 0, nextAttemptAt: now.toISOString(), lastError: undefined, ...outboxKey(s, entry) } }));
      await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: deadKey(s, entry) }));
    }
    return letters.length;
  }
}
