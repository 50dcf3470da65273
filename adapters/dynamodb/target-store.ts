import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TargetStore } from '../../shared/ports.ts';
import type { Target } from '../../shared/model.ts';
import { getItem, queryAll, withoutKeys, type Table } from './table.ts';

const key = (name: string) => ({ pk: `TARGET#${name}`, sk: 'TARGET' });

export class DynamoTargetStore implements TargetStore {
  constructor(private readonly table: Table) {}

  async put(target: Target): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...target, ...key(target.name), gsi1pk: 'TARGETS', gsi1sk: target.name } }));
  }

  async get(name: string): Promise<Target | undefined> {
    const item = await getItem(this.table, key(name));
    return item && withoutKeys<Target>(item);
  }

  async list(): Promise<Target[]> {
    return (await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'TARGETS' })).map((i) => withoutKeys<Target>(i));
  }

  async remove(name: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: key(name) }));
  }
}
