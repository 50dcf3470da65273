import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuthorityRecord, AuthorityStore } from '../../shared/ports.ts';
import { putIfAbsent, withoutKeys, type Table } from './table.ts';

const key = (name: string) => ({ pk: `CA#${name}`, sk: 'CA' });

/** Built-in CAs in the table, one item each, created once (put-if-absent). */
export class DynamoAuthorityStore implements AuthorityStore {
  constructor(private readonly table: Table) {}

  /** A strongly consistent read: a first open that lost the race reads the CA that won it. */
  async get(name: string): Promise<AuthorityRecord | undefined> {
    const { Item } = await this.table.doc.send(new GetCommand({ TableName: this.table.name, Key: key(name), ConsistentRead: true }));
    return Item && withoutKeys<AuthorityRecord>(Item);
  }

  create(record: AuthorityRecord): Promise<boolean> {
    return putIfAbsent(this.table, { ...key(record.name), ...record });
  }
}
