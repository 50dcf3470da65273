import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchGetItemCommand, BatchWriteItemCommand, ConditionalCheckFailedException, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DocumentClient } from '../../adapters/dynamodb/document-client.ts';
import { freshTable } from '../support/dynamo.ts';

describe('the stores\' document client (lib-dynamodb commands, sent as the table API\'s own)', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  beforeAll(async () => {
    db = await freshTable();
  });
  afterAll(async () => db.close());

  it('writes and reads items of every attribute type, undefined attributes left out, as the document client did', async () => {
    const { doc, name: TableName } = db.table;
    const item = { pk: 'DOC', sk: '1', s: 'é ✓', n: 12.5, big: 2 ** 40, yes: true, nothing: null, list: [1, 'two', { three: [3] }], map: { a: { b: 'c' } }, bytes: new Uint8Array([0, 1, 255]), strings: new Set(['x', 'y']), gone: undefined };
    await doc.send(new PutCommand({ TableName, Item: item, ConditionExpression: 'attribute_not_exists(pk) OR s <> :s', ExpressionAttributeValues: { ':s': 'other' } }));
    const { gone, ...stored } = item;
    expect(gone).toBeUndefined();
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'DOC', sk: '1' } }))).Item).toEqual(stored);
    const updated = await doc.send(new UpdateCommand({ TableName, Key: { pk: 'DOC', sk: '1' }, UpdateExpression: 'SET n = n + :one, #map.a.b = :d', ExpressionAttributeNames: { '#map': 'map' }, ExpressionAttributeValues: { ':one': 1, ':d': { deep: ['er'] } }, ReturnValues: 'ALL_NEW' }));
    expect(updated.Attributes).toMatchObject({ n: 13.5, map: { a: { b: { deep: ['er'] } } } });
    // A refused condition is the SDK's typed exception.
    await expect(doc.send(new PutCommand({ TableName, Item: { pk: 'DOC', sk: '1' }, ConditionExpression: 'attribute_not_exists(pk)' }))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const deleted = await doc.send(new DeleteCommand({ TableName, Key: { pk: 'DOC', sk: '1' }, ConditionExpression: 'yes = :t', ExpressionAttributeValues: { ':t': true }, ReturnValues: 'ALL_OLD' }));
    expect(deleted.Attributes).toMatchObject({ s: 'é ✓', bytes: new Uint8Array([0, 1, 255]) });
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'DOC', sk: '1' } }))).Item).toBeUndefined();
  });

  it('queries and scans page by page from the key each page ends at, and batches reads and writes', async () => {
    const { doc, name: TableName } = db.table;
    await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: Array.from({ length: 5 }, (_, i) => ({ PutRequest: { Item: { pk: 'PAGED', sk: `s${i}`, i } } })) } }));
    const seen: number[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new QueryCommand({ TableName, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'PAGED' }, Limit: 2, ExclusiveStartKey: start }));
      seen.push(...(page.Items ?? []).map((item) => item.i as number));
      start = page.LastEvaluatedKey;
      if (start) expect(start).toMatchObject({ pk: 'PAGED' });
    } while (start);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    const scanned = await doc.send(new ScanCommand({ TableName, FilterExpression: 'pk = :p AND i >= :two', ExpressionAttributeValues: { ':p': 'PAGED', ':two': 2 } }));
    expect(scanned.Items!.map((item) => item.i).sort()).toEqual([2, 3, 4]);
    const read = await doc.send(new BatchGetCommand({ RequestItems: { [TableName]: { Keys: [{ pk: 'PAGED', sk: 's1' }, { pk: 'PAGED', sk: 'none' }], ConsistentRead: true } } }));
    expect(read.Responses![TableName]).toEqual([{ pk: 'PAGED', sk: 's1', i: 1 }]);
    await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: [{ DeleteRequest: { Key: { pk: 'PAGED', sk: 's0' } } }] } }));
    expect((await doc.send(new GetCommand({ TableName, Key: { pk: 'PAGED', sk: 's0' } }))).Item).toBeUndefined();
    // The table API's own commands go as they are.
    expect((await doc.send<{ Table: { TableName: string } }>(new DescribeTableCommand({ TableName }))).Table.TableName).toBe(TableName);
  });

  it('refuses a document command it does not convert, and the legacy parameters, rather than send plain values (or, with cached middleware, the first command\'s input again)', async () => {
    const { doc, name: TableName } = db.table;
    await expect(doc.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName, Item: { pk: 'T', sk: '1' } } }] }) as never)).rejects.toThrow(/TransactWriteCommand is not one of the document commands/);
    await expect(doc.send(new PutCommand({ TableName, Item: { pk: 'T', sk: '2' }, Expected: { pk: { Exists: false } } }))).rejects.toThrow(/Expected is a legacy parameter/);
    await expect(doc.send(new ScanCommand({ TableName, ScanFilter: { pk: { ComparisonOperator: 'EQ', AttributeValueList: ['T'] } } }))).rejects.toThrow(/ScanFilter/);
    expect((await doc.send(new ScanCommand({ TableName, FilterExpression: 'pk = :t', ExpressionAttributeValues: { ':t': 'T' } }))).Items).toEqual([]);
  });

  it('hands back what a batch left unprocessed as plain items and keys, ready to be sent again', async () => {
    const client = new DynamoDBClient({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const dynamo = mockClient(client);
    dynamo.on(BatchWriteItemCommand).resolves({ UnprocessedItems: { t: [{ PutRequest: { Item: marshall({ pk: 'A', sk: 'B', n: 1 }) } }, { DeleteRequest: { Key: marshall({ pk: 'C', sk: 'D' }) } }] } });
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { t: [marshall({ pk: 'E', sk: 'F', list: [1] })] }, UnprocessedKeys: { t: { Keys: [marshall({ pk: 'G', sk: 'H' })], ConsistentRead: true } } });
    const doc = new DocumentClient(client);
    const written = await doc.send(new BatchWriteCommand({ RequestItems: { t: [{ PutRequest: { Item: { pk: 'A', sk: 'B', n: 1 } } }] } }));
    expect(written.UnprocessedItems).toEqual({ t: [{ PutRequest: { Item: { pk: 'A', sk: 'B', n: 1 } } }, { DeleteRequest: { Key: { pk: 'C', sk: 'D' } } }] });
    // What went out was the table API's form.
    expect(dynamo.commandCalls(BatchWriteItemCommand)[0].args[0].input.RequestItems!.t[0].PutRequest!.Item).toEqual({ pk: { S: 'A' }, sk: { S: 'B' }, n: { N: '1' } });
    const read = await doc.send(new BatchGetCommand({ RequestItems: { t: { Keys: [{ pk: 'E', sk: 'F' }, { pk: 'G', sk: 'H' }] } } }));
    expect(read).toMatchObject({ Responses: { t: [{ pk: 'E', sk: 'F', list: [1] }] }, UnprocessedKeys: { t: { Keys: [{ pk: 'G', sk: 'H' }], ConsistentRead: true } } });
  });
});
