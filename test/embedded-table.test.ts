import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
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

  it('reads a table by its new description once it is deleted and created again (the worker keeps the decoded description until its key is written)', async () => {
    const send = (command: object) => table.doc.send(command as never);
    await send(new CreateTableCommand({ TableName: 'certops-rekeyed', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
    await eventually(async () => (await send(new DescribeTableCommand({ TableName: 'certops-rekeyed' })) as { Table: { TableStatus: string } }).Table.TableStatus === 'ACTIVE', 'the table active', 2_000, 20);
    await send(new PutCommand({ TableName: 'certops-rekeyed', Item: { pk: 'A' } }));
    await send(new DeleteTableCommand({ TableName: 'certops-rekeyed' }));
    await eventually(async () => send(new DescribeTableCommand({ TableName: 'certops-rekeyed' })).then(() => false, (err: Error) => err.name === 'ResourceNotFoundException'), 'the table gone', 2_000, 20);
    await send(new CreateTableCommand({ TableName: 'certops-rekeyed', BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] }));
    await eventually(async () => (await send(new DescribeTableCommand({ TableName: 'certops-rekeyed' })) as { Table: { TableStatus: string } }).Table.TableStatus === 'ACTIVE', 'the table active again', 2_000, 20);
    // Under the old description this item lacks its key (pk) and is refused; under the new one it is taken.
    await send(new PutCommand({ TableName: 'certops-rekeyed', Item: { id: 'B' } }));
    await expect(send(new PutCommand({ TableName: 'certops-rekeyed', Item: { pk: 'C' } }))).rejects.toThrow(/key/i);
  });

  it('counts what it takes only while counting is on (the benchmarks time a burst uncounted, then count a second one)', async () => {
    const put = (sk: string) => table.doc.send(new PutCommand({ TableName: 'certops-test', Item: { pk: 'COUNTED', sk } }));
    await put('before');
    expect((await embedded.writes()).calls).toBe(0);
    await embedded.count(true);
    await put('while');
    await table.doc.send(new QueryCommand({ TableName: 'certops-test', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'COUNTED' } }));
    await embedded.count(false);
    await put('after');
    expect(await embedded.writes()).toMatchObject({ calls: 1, items: 1, readCalls: 1, readItems: 2 });
  });
});
