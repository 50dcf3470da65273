import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchWrite, getItem } from '../../adapters/dynamodb/batch.ts';
import { freshTable } from '../support/dynamo.ts';

describe('batched table access (group commit across concurrent callers)', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  const calls: string[] = [];
  beforeAll(async () => {
    db = await freshTable();
    // The calls that reach the table (the document client's commands are counted once more by their own names).
    db.table.doc.middlewareStack.add((next, context) => (args) => (/ItemCommand$/.test(String(context.commandName)) && calls.push(String(context.commandName)), next(args)), { step: 'initialize', name: 'countCalls' });
  });
  afterAll(() => db.close());

  it('writes concurrent callers\' items in shared BatchWriteItem calls, every item stored', async () => {
    calls.length = 0;
    await Promise.all(Array.from({ length: 60 }, (_, i) => batchWrite(db.table, [{ put: { pk: `W#${i}`, sk: 'W', n: i } }])));
    expect(calls.filter((c) => c === 'BatchWriteItemCommand').length).toBeLessThanOrEqual(4);
    const read = await Promise.all(Array.from({ length: 60 }, (_, i) => getItem(db.table, { pk: `W#${i}`, sk: 'W' })));
    expect(read.map((item) => item?.n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('reads concurrent callers\' keys in shared BatchGetItem calls, each caller getting its own item or undefined', async () => {
    calls.length = 0;
    const read = await Promise.all([...Array.from({ length: 30 }, (_, i) => getItem(db.table, { pk: `W#${i}`, sk: 'W' })), getItem(db.table, { pk: 'W#none', sk: 'W' }), getItem(db.table, { pk: 'W#0', sk: 'W' })]);
    expect(calls.filter((c) => c === 'BatchGetItemCommand').length).toBeLessThanOrEqual(3);
    expect(calls.filter((c) => c !== 'BatchGetItemCommand')).toEqual([]);
    expect(read.map((item) => item?.n)).toEqual([...Array.from({ length: 30 }, (_, i) => i), undefined, 0]);
  });

  it('writes requests for one key in the order they were made (a batch may not name a key twice)', async () => {
    const key = { pk: 'ORDER', sk: 'ORDER' };
    await Promise.all([batchWrite(db.table, [{ put: { ...key, v: 1 } }]), batchWrite(db.table, [{ put: { ...key, v: 2 } }, { delete: key }]), batchWrite(db.table, [{ put: { ...key, v: 3 } }])]);
    expect((await getItem(db.table, key))?.v).toBe(3);
    await batchWrite(db.table, [{ put: { ...key, v: 4 } }, { delete: key }]);
    expect(await getItem(db.table, key)).toBeUndefined();
  });
});
