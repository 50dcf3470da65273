import type { TokenStore } from '../../shared/ports.ts';
import type { Role } from '../../shared/model.ts';
import { getItem, type Table } from './table.ts';
import { PutCommand } from '@aws-sdk/lib-dynamodb';

const key = (hash: string) => ({ pk: `TOKEN#${hash}`, sk: 'TOKEN' });

export class DynamoTokenStore implements TokenStore {
  constructor(private readonly table: Table) {}

  async put(hash: string, role: Role, name: string): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...key(hash), role, name } }));
  }

  async get(hash: string) {
    const item = await getItem(this.table, key(hash));
    return item && { role: item.role as Role, name: item.name as string };
  }
}
