import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynalite, type EmbeddedTable } from '../local/embedded-dynamodb.ts';
import { openTable, tableClientConfig, type Table } from '../adapters/dynamodb/table.ts';
import { eventually } from './support/processes.ts';

describe('the embedded table', () => {
  let embedded: EmbeddedTable;
  let table: Table;
  beforeAll(async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-embedded-'));
    embedded = await startDynalite(home, join(home, 'data'));
    await ensureTable(embedded.endpoint, 'certops-test');
    table = openTable('certops-test', { ...tableClientConfig(embedded.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    table.doc.destroy();
    await embedded.close();
  });

  it('closes the LevelDB iterators of queries that stop before the end of their partition (dynalite called a return() they lack)', async () => {
    for (let i = 0; i < 5; i++) await table.doc.send(new PutCommand({ TableName: 'certops-test', Item: { pk: 'P', sk: `S${i}` } }));
    for (let i = 0; i < 50; i++) {
      const page = await table.doc.send(new QueryCommand({ TableName: 'certops-test', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'P' }, Limit: 1 }));
      expect(page.Items).toHaveLength(1);
    }
    // No page leaves its iterator open (each pinned LevelDB's memtable and files of its moment).
    await eventually(async () => (await embedded.openIterators()) === 0, 'every iterator closed', 2_000, 50);
    const all = await table.doc.send(new QueryCommand({ TableName: 'certops-test', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'P' } }));
    expect(all.Items).toHaveLength(5);
  });
});
