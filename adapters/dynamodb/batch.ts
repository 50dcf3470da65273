import { BatchGetCommand, BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { groupCommit } from '../../shared/group-commit.ts';
import { recordedFunction } from '../aws/call-recorder.ts';
import type { Item, Key, Table } from './table.ts';

/** BatchWriteItem takes at most 25 requests, BatchGetItem at most 100 keys (DynamoDB API reference). */
const WRITE_LIMIT = 25;
const GET_LIMIT = 100;
/** Calls one read (or one writeAtOnce) makes at once. */
const CALLS_AT_ONCE = 4;
/** Unprocessed items come back under throttling; each retry waits twice as long (50 ms, 100 ms, ...). */
const ATTEMPTS = 8;

export type WriteRequest = { put: Item & Key } | { delete: Key };

async function untilProcessed<T>(what: string, first: T[], call: (pending: T[]) => Promise<T[] | undefined>): Promise<void> {
  let pending: T[] | undefined = first;
  for (let attempt = 0; pending?.length; attempt++) {
    if (attempt === ATTEMPTS) throw new Error(`${what} left ${pending.length} items unprocessed after ${ATTEMPTS} attempts`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 1)));
    pending = await call(pending);
  }
}

const keyId = (k: Key | Item) => `${k.pk}\n${k.sk}`;
const requestKey = (r: WriteRequest) => keyId('put' in r ? r.put : r.delete);

/**
 * Writes `requests` in calls that name each key once (BatchWriteItem refuses a call that names
 * one twice): a later request for a key already in a call goes in a later call, in order.
 */
async function writeInOrder(table: Table, requests: WriteRequest[]): Promise<void> {
  for (let round = requests; round.length;) {
    const seen = new Set<string>();
    const now = round.filter((r) => !seen.has(requestKey(r)) && Boolean(seen.add(requestKey(r))));
    const later = round.filter((r) => !now.includes(r));
    const chunk = now.map((r) => ('put' in r ? { PutRequest: { Item: r.put } } : { DeleteRequest: { Key: r.delete } }));
    await untilProcessed('BatchWriteItem', chunk, async (pending) => {
      const out = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.name]: pending } }));
      return out.UnprocessedItems?.[table.name] as typeof chunk | undefined;
    });
    round = later;
  }
}

type Queues = { write(r: WriteRequest): Promise<void>; read(k: Key): Promise<Item | undefined> };
/** Each table's queues of writes and of reads (see batchWrite and getItem), one pair per recorded function (recordedFunction). */
const queues = new WeakMap<Table, Map<string | undefined, Queues>>();
function queuesOf(table: Table): Queues {
  let byFunction = queues.get(table);
  if (!byFunction) queues.set(table, (byFunction = new Map()));
  const fn = recordedFunction();
  let q = byFunction.get(fn);
  if (!q) {
    q = {
      write: groupCommit(async (requests: WriteRequest[]) => (await writeInOrder(table, requests), requests.map(() => undefined)), WRITE_LIMIT),
      read: groupCommit((keys: Key[]) => getItems(table, keys), GET_LIMIT),
    };
    byFunction.set(fn, q);
  }
  return q;
}

/**
 * Puts and deletes in BatchWriteItem calls of at most 25, retrying what comes back unprocessed.
 * Writes other callers make meanwhile join the same calls (group commit): concurrent requests to
 * one process take a few calls, not one each. Not a transaction: each item is written on its own,
 * so callers write only what is safe to find half written (idempotent puts of the same content, or
 * items nothing reads before a commit point). Requests for one key are written in order.
 * @throws when items stay unprocessed after 8 attempts.
 */
export async function batchWrite(table: Table, requests: WriteRequest[]): Promise<void> {
  const { write } = queuesOf(table);
  await Promise.all(requests.map(write));
}

/**
 * Puts and deletes of keys no other write in flight names (a committed batch's own items), in
 * BatchWriteItem calls of at most 25, a few at once, outside the group commit: a thousand items
 * wait for a dozen round trips, not forty. Retries what comes back unprocessed.
 * @throws when items stay unprocessed after 8 attempts.
 */
export async function writeAtOnce(table: Table, requests: WriteRequest[]): Promise<void> {
  await inChunks(requests, WRITE_LIMIT, (chunk) => writeInOrder(table, chunk));
}

/** `each` over `list` in chunks of `size`, CALLS_AT_ONCE chunks at a time. */
async function inChunks<T>(list: T[], size: number, each: (chunk: T[]) => Promise<void>): Promise<void> {
  const chunks = Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));
  await Promise.all(Array.from({ length: Math.min(CALLS_AT_ONCE, chunks.length) }, async () => {
    for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) await each(chunk);
  }));
}

/**
 * The item at `key`, or undefined (an eventually consistent read, as GetItem's default): reads
 * other callers make meanwhile go in the same BatchGetItem call.
 */
export function getItem(table: Table, key: Key): Promise<Item | undefined> {
  return queuesOf(table).read({ pk: key.pk, sk: key.sk });
}

/**
 * The items at `keys` that exist, in BatchGetItem calls of at most 100 keys, retrying unprocessed
 * keys; in no particular order (DynamoDB answers in any order). `consistent`: strongly consistent reads.
 * @throws when keys stay unread after 8 attempts.
 */
export async function batchGet(table: Table, keys: Key[], consistent = false): Promise<Item[]> {
  const items: Item[] = [];
  // Reads have no order to keep: a few calls at once, so a thousand keys wait for three round trips, not ten.
  await inChunks(keys, GET_LIMIT, (chunk) => untilProcessed('BatchGetItem', chunk, async (pending) => {
    const out = await table.doc.send(new BatchGetCommand({ RequestItems: { [table.name]: { Keys: pending, ...(consistent ? { ConsistentRead: true } : {}) } } }));
    items.push(...(out.Responses?.[table.name] ?? []));
    return out.UnprocessedKeys?.[table.name]?.Keys as Key[] | undefined;
  }));
  return items;
}

/**
 * The items at `keys` in the order of the keys, undefined where none is stored (a key given twice
 * is read once: BatchGetItem refuses duplicates).
 */
export async function getItems(table: Table, keys: Key[]): Promise<(Item | undefined)[]> {
  const distinct = [...new Map(keys.map((k) => [keyId(k), { pk: k.pk, sk: k.sk }])).values()];
  const found = new Map((await batchGet(table, distinct)).map((item) => [keyId(item), item]));
  return keys.map((k) => found.get(keyId(k)));
}
