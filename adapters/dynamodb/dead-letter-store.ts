import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeadLetterStore } from '../../shared/ports.ts';
import type { DeadLetter } from '../../shared/model.ts';
import { queryAll, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `DLQ#${id}`, sk: 'DLQ' });

export class DynamoDeadLetterStore implements DeadLetterStore {
  constructor(private readonly table: Table) {}

  async put(letter: DeadLetter): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...letter, ...key(letter.id), gsi1pk: 'DLQ', gsi1sk: `${letter.failedAt}#${letter.id}` } }));
  }

  async list(): Promise<DeadLetter[]> {
    return (await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'DLQ' })).map((i) => withoutKeys<DeadLetter>(i));
  }

  async remove(id: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: key(id) }));
  }
}
