import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConfigRecord, ConfigStore } from '../../shared/ports.ts';
import { batchWrite } from './batch.ts';
import { conditionalWrite, getItem, idSortKey, queryPage, type Item, type Table } from './table.ts';

const PK = 'CONFIG';
const CURRENT = { pk: PK, sk: 'CURRENT' };
const versionKey = (version: number) => ({ pk: PK, sk: `V#${String(version).padStart(10, '0')}` });
const importedKey = (location: string) => ({ pk: PK, sk: `IMPORTED#${idSortKey(location)}` });

// Documents and diffs may hold any key (a policy rule's field, a sink's name): kept as JSON text.
const toItem = ({ document, diff, ...rest }: ConfigRecord): Item => ({ ...rest, documentJson: JSON.stringify(document), diffJson: JSON.stringify(diff) });

function fromItem(item: Item): ConfigRecord {
  const { pk: _pk, sk: _sk, documentJson, diffJson, ...rest } = item;
  // A configuration recorded before versions were kept is the first version.
  return { version: 1, location: 'unknown', changed: [], ...rest, document: JSON.parse(String(documentJson)), diff: diffJson ? JSON.parse(String(diffJson)) : [] } as unknown as ConfigRecord;
}

/**
 * The configuration in the table: every version as an item of its own (`V#<version>`), and the one
 * in force (`CURRENT`) moved forward with a condition on the hash it replaces.
 */
export class DynamoConfigStore implements ConfigStore {
  constructor(private readonly table: Table) {}

  async latest(): Promise<ConfigRecord | undefined> {
    const item = await getItem(this.table, CURRENT);
    return item && fromItem(item);
  }

  async version(version: number): Promise<ConfigRecord | undefined> {
    const item = await getItem(this.table, versionKey(version));
    return item && fromItem(item);
  }

  async history(limit: number, nextToken?: string) {
    const page = await queryPage(this.table, { pkName: 'pk', pk: PK, skPrefix: 'V#', newestFirst: true, limit, nextToken });
    return { items: page.items.map((i) => { const { document: _d, ...rest } = fromItem(i); return rest; }), nextToken: page.nextToken };
  }

  async record(next: ConfigRecord, previous: ConfigRecord | undefined): Promise<boolean> {
    // The predecessor's version again first (idempotent): one whose own write a crash cut off is kept.
    if (previous) await batchWrite(this.table, [{ put: { ...versionKey(previous.version), ...toItem(previous) } }]);
    const moved = await conditionalWrite(this.table, new PutCommand({
      TableName: this.table.name,
      Item: { ...CURRENT, ...toItem(next) },
      ...(previous === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        // The version too: the same document may be in force again at a later version.
        : { ConditionExpression: '#h = :h AND #v = :v', ExpressionAttributeNames: { '#h': 'hash', '#v': 'version' }, ExpressionAttributeValues: { ':h': previous.hash, ':v': previous.version } }),
    }));
    if (moved) await batchWrite(this.table, [{ put: { ...versionKey(next.version), ...toItem(next) } }]);
    return moved;
  }

  async importedFrom(location: string): Promise<string | undefined> {
    return (await getItem(this.table, importedKey(location)))?.hash as string | undefined;
  }

  async markImported(location: string, hash: string): Promise<void> {
    await batchWrite(this.table, [{ put: { ...importedKey(location), location, hash } }]);
  }
}
