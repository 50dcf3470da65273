import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConfigRecord, ConfigStore } from '../../shared/ports.ts';
import { getItem, isConditionFailure, type Table } from './table.ts';

const KEY = { pk: 'CONFIG', sk: 'CURRENT' };

/** The configuration in force, one item, moved forward with a condition on the hash it replaces. */
export class DynamoConfigStore implements ConfigStore {
  constructor(private readonly table: Table) {}

  async latest(): Promise<ConfigRecord | undefined> {
    const item = await getItem(this.table, KEY);
    return item && { hash: String(item.hash), document: JSON.parse(String(item.documentJson)), changedBy: String(item.changedBy), changedAt: String(item.changedAt) };
  }

  async record(next: ConfigRecord, previousHash: string | undefined): Promise<boolean> {
    const { document, ...rest } = next;
    try {
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        // The document as JSON text: a configuration may hold any key.
        Item: { ...KEY, ...rest, documentJson: JSON.stringify(document) },
        ...(previousHash === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: '#h = :h', ExpressionAttributeNames: { '#h': 'hash' }, ExpressionAttributeValues: { ':h': previousHash } }),
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }
}
