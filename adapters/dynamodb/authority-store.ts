import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { AuthorityRecord, AuthorityStore } from '../../shared/ports.ts';
import { putIfAbsent, withoutKeys, type Table } from './table.ts';

const key = (name: string) => ({ pk: `CA#${name}`, sk: 'CA' });

/** Built-in CAs in the table, one item each, created once (put-if-absent). */
export class DynamoAuthorityStore implements AuthorityStore {
  constructor(private readonly table: Table) {}

  /**
   * A strongly consistent read (a first open that lost the race reads the CA that won it), through
   * BatchGetItem as every other read of the functions: their roles grant no GetItem.
   */
  async get(name: string): Promise<AuthorityRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      const out = await this.table.doc.send(new BatchGetCommand({ RequestItems: { [this.table.name]: { Keys: [key(name)], ConsistentRead: true } } }));
      const item = out.Responses?.[this.table.name]?.[0];
      if (item) return withoutKeys<AuthorityRecord>(item);
      if (!out.UnprocessedKeys?.[this.table.name]) return undefined;
      // A key left unprocessed (throttling) is no answer: asked again, a little later.
      if (attempt === 4) throw new Error(`the built-in CA ${name} could not be read (the table kept the key unprocessed)`);
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }

  create(record: AuthorityRecord): Promise<boolean> {
    return putIfAbsent(this.table, { ...key(record.name), ...record });
  }
}
