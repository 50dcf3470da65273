import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynalite, type EmbeddedTable } from '../local/embedded-dynamodb.ts';
import { openTable, tableClientConfig, type Table } from '../adapters/dynamodb/table.ts';
import { eventually } from './support/processes.ts';
import { ChannelRequestHandler } from '../adapters/dynamodb/in-process-table.ts';
import { BatchWriteItemCommand, ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { connect } from 'node:net';

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
    const send = (command: object) => table.doc.send(command as never) as Promise<any>;
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

  it('never keeps a description read while its table was being created (LevelDB may answer a read issued after a write with the value before it)', async () => {
    const send = (command: object) => table.doc.send(command as never) as Promise<any>;
    const status = async (name: string) => (await send(new DescribeTableCommand({ TableName: name }))).Table.TableStatus;
    for (let i = 0; i < 20; i++) {
      const name = `certops-race-${i}`;
      let creating = true;
      const describing = Array.from({ length: 8 }, async () => {
        while (creating) await send(new DescribeTableCommand({ TableName: name })).catch(() => undefined);
      });
      await send(new CreateTableCommand({ TableName: name, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] }));
      await new Promise((r) => setTimeout(r, 30));
      creating = false;
      await Promise.all(describing);
      // A description kept from before the table went ACTIVE would say CREATING, and refuse items, until a restart.
      await eventually(async () => (await status(name)) === 'ACTIVE', `${name} active`, 2_000, 20);
      await send(new PutCommand({ TableName: name, Item: { pk: 'A' } }));
    }
  }, 60_000);

  it('an UpdateTable it refuses leaves the description as it was (the action changes the object it read before it fails)', async () => {
    const send = (command: object) => table.doc.send(command as never) as Promise<any>;
    const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
    await send(new CreateTableCommand({
      TableName: 'certops-provisioned', ProvisionedThroughput: throughput, KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'g', AttributeType: 'S' }],
      GlobalSecondaryIndexes: [{ IndexName: 'by-g', KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' }, ProvisionedThroughput: throughput }],
    }));
    const described = async () => (await send(new DescribeTableCommand({ TableName: 'certops-provisioned' }))).Table;
    await eventually(async () => (await described()).TableStatus === 'ACTIVE', 'the table active', 2_000, 20);
    // The index's throughput unchanged: refused, after the table's status was set to UPDATING in memory.
    await expect(send(new UpdateTableCommand({ TableName: 'certops-provisioned', ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 }, GlobalSecondaryIndexUpdates: [{ Update: { IndexName: 'by-g', ProvisionedThroughput: throughput } }] }))).rejects.toThrow();
    expect(await described()).toMatchObject({ TableStatus: 'ACTIVE', ProvisionedThroughput: { ReadCapacityUnits: 5 } });
  });

  it('counts what it takes only while counting is on (the benchmarks time a burst uncounted, then count a second one)', async () => {
    const put = (sk: string) => table.doc.send(new PutCommand({ TableName: 'certops-test', Item: { pk: 'COUNTED', sk } }));
    await put('before');
    expect((await embedded.writes()).calls).toBe(0);
    await embedded.count(true);
    await put('while');
    // The bus's ledger is the local stack's own: counted apart, since EventBridge holds it on AWS.
    await table.doc.send(new PutCommand({ TableName: 'certops-test', Item: { pk: 'DELIVERY', sk: 'counted' } }));
    await table.doc.send(new QueryCommand({ TableName: 'certops-test', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'COUNTED' } }));
    await embedded.count(false);
    await put('after');
    expect(await embedded.writes()).toMatchObject({ calls: 2, items: 2, localItems: 1, writeUnits: 1, readCalls: 1, readItems: 2 });
  });

  it('answers this process through its thread\'s channel as it answers another over its socket: the same items, the same errors', async () => {
    expect(tableClientConfig(embedded.endpoint).requestHandler).toBeInstanceOf(ChannelRequestHandler);
    // What another process has: an HTTP client on the socket.
    const agent = new Agent({ keepAlive: true });
    agent.createConnection = () => connect(embedded.endpoint.slice('unix:'.length));
    const overSocket = openTable('certops-test', { ...tableClientConfig(embedded.endpoint), requestHandler: new NodeHttpHandler({ httpAgent: agent }), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const item = { pk: 'BOTH', sk: 'é ✓ 𝔘', list: [1, 'two', { three: true }], bytes: new Uint8Array([0, 255]) };
      await table.doc.send(new PutCommand({ TableName: 'certops-test', Item: item }));
      const query = () => new QueryCommand({ TableName: 'certops-test', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'BOTH' } });
      const [viaChannel, viaSocket] = [await table.doc.send(query()), await overSocket.doc.send(query())];
      expect(viaChannel.Items).toEqual([item]);
      expect(viaSocket.Items).toEqual(viaChannel.Items);
      // A refusal comes back as the SDK's typed exception either way.
      const conditional = () => new PutCommand({ TableName: 'certops-test', Item: { pk: 'BOTH', sk: item.sk }, ConditionExpression: 'attribute_not_exists(pk)' });
      for (const client of [table, overSocket]) await expect(client.doc.send(conditional())).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    } finally {
      overSocket.doc.destroy();
    }
  });

  it('ensureTable answers once the table it created is ACTIVE: an item written right after is taken (DynamoDB refuses items of a CREATING table)', async () => {
    for (let i = 0; i < 10; i++) {
      const other = await startDynalite(mkdtempSync(join(tmpdir(), 'certops-embedded-new-')));
      const client = openTable('certops-new', { ...tableClientConfig(other.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      try {
        // The window is short (dynalite writes ACTIVE a moment after answering CreateTable): a loaded CI machine found it.
        await ensureTable(other.endpoint, 'certops-new');
        expect((await client.doc.send<{ Table: { TableStatus: string } }>(new DescribeTableCommand({ TableName: 'certops-new' }))).Table.TableStatus).toBe('ACTIVE');
        await client.doc.send(new PutCommand({ TableName: 'certops-new', Item: { pk: 'A', sk: 'A' } }));
      } finally {
        client.doc.destroy();
        await other.close();
      }
    }
  });

  it('closes once the requests under way have their answers: none is left waiting, and LevelDB is not closed under one', async () => {
    for (let round = 0; round < 5; round++) {
      const home = mkdtempSync(join(tmpdir(), 'certops-embedded-closing-'));
      const other = await startDynalite(home, join(home, 'data'));
      await ensureTable(other.endpoint, 'certops-closing');
      const client = openTable('certops-closing', { ...tableClientConfig(other.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
      await client.doc.send(new PutCommand({ TableName: 'certops-closing', Item: { pk: 'warm', sk: 'warm' } }));
      const puts = Array.from({ length: 40 }, (_, i) => client.doc.send(new PutCommand({ TableName: 'certops-closing', Item: { pk: 'P', sk: String(i), pad: 'x'.repeat(1000) } })));
      // Settled from the start: a put the close fails is expected, not an unhandled rejection.
      const settled = Promise.allSettled(puts);
      await new Promise((r) => setTimeout(r, round));
      // Before, dynalite took a request whose body came after the close to a closed LevelDB and threw, ending the thread.
      await other.close();
      const outcomes = await settled;
      for (const o of outcomes) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/clos/);
    }
  }, 60_000);

  it('a malformed write while counting is refused by dynalite, and the table goes on', async () => {
    const raw = new DynamoDBClient({ ...tableClientConfig(embedded.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    await embedded.count(true);
    try {
      await expect(raw.send(new BatchWriteItemCommand({} as never))).rejects.toThrow();
    } finally {
      await embedded.count(false);
      raw.destroy();
    }
    await table.doc.send(new PutCommand({ TableName: 'certops-test', Item: { pk: 'AFTER', sk: 'MALFORMED' } }));
  });

  it('fails a request made once the table is closed at once, never leaves it waiting', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-embedded-closed-'));
    const other = await startDynalite(home);
    await ensureTable(other.endpoint, 'certops-closed');
    const client = openTable('certops-closed', { ...tableClientConfig(other.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await client.doc.send(new PutCommand({ TableName: 'certops-closed', Item: { pk: 'A', sk: 'A' } }));
    await other.close();
    await expect(client.doc.send(new PutCommand({ TableName: 'certops-closed', Item: { pk: 'B', sk: 'B' } }))).rejects.toThrow(/closed/);
    // A client opened afterwards goes to the socket, which no one serves any more.
    const later = openTable('certops-closed', { ...tableClientConfig(other.endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    expect(tableClientConfig(other.endpoint).requestHandler).toBeInstanceOf(NodeHttpHandler);
    await expect(later.doc.send(new PutCommand({ TableName: 'certops-closed', Item: { pk: 'C', sk: 'C' } }))).rejects.toThrow();
  });
});
