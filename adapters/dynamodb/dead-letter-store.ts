import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeadLetterStore } from '../../shared/ports.ts';
import type { DeadLetter } from '../../shared/model.ts';
import { queryAll, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `DLQ#${id}`, sk: 'DLQ' });

export class DynamoDeadLetterStore implements DeadLetterStore {
  constructor(private readonly table: Table) {}

  /** The event is kept as its JSON text: a detail is whatever a producer sent, and any key (even `constructor`) must survive. */
  async put(letter: DeadLetter): Promise<void> {
    const { event, ...rest } = letter;
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...rest, eventJson: JSON.stringify(event), ...key(letter.id), gsi1pk: 'DLQ', gsi1sk: `${letter.failedAt}#${letter.id}` } }));
  }

  async list(): Promise<DeadLetter[]> {
    return (await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'DLQ' })).map((i) => {
      const { eventJson, ...rest } = withoutKeys<Omit<DeadLetter, 'event'> & { eventJson: string }>(i);
      return { ...rest, event: JSON.parse(eventJson) };
    });
  }

  async remove(id: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: key(id) }));
  }
}
