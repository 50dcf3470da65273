import type { AuthorityRecord, AuthorityStore } from '../../shared/ports.ts';
import { getItem, putIfAbsent, withoutKeys, type Table } from './table.ts';

const key = (name: string) => ({ pk: `CA#${name}`, sk: 'CA' });

/** Built-in CAs in the table, one item each, created once (put-if-absent). */
export class DynamoAuthorityStore implements AuthorityStore {
  constructor(private readonly table: Table) {}

  async get(name: string): Promise<AuthorityRecord | undefined> {
    const item = await getItem(this.table, key(name));
    return item && withoutKeys<AuthorityRecord>(item);
  }

  create(record: AuthorityRecord): Promise<boolean> {
    return putIfAbsent(this.table, { ...key(record.name), ...record });
  }
}
