import type { IssuanceJournal } from '../../shared/ports.ts';
import { getItem, putIfAbsent, type Table } from './table.ts';

const key = (caId: string, idempotencyKey: string) => ({ pk: `ISSUED#${caId}#${idempotencyKey}`, sk: 'ISSUED' });

/** The CA's journal in the table: one item per idempotency key, written once. */
export class DynamoIssuanceJournal implements IssuanceJournal {
  constructor(private readonly table: Table) {}

  async recall(caId: string, idempotencyKey: string): Promise<string | undefined> {
    return (await getItem(this.table, key(caId, idempotencyKey)))?.value as string | undefined;
  }

  async record(caId: string, idempotencyKey: string, value: string): Promise<string> {
    if (await putIfAbsent(this.table, { ...key(caId, idempotencyKey), value })) return value;
    return (await this.recall(caId, idempotencyKey))!;
  }
}
