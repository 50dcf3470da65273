import { createHash } from 'node:crypto';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { DocumentClient } from './document-client.ts';
import { ValidationError } from '../../shared/errors.ts';
import { recordingCalls } from '../aws/call-recorder.ts';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ChannelRequestHandler, inProcessChannel } from './in-process-table.ts';

export type Item = Record<string, NativeAttributeValue>;

/** The single table: a document client and the table's name, shared by every store. */
export interface Table {
  doc: DocumentClient;
  name: string;
}

const UNSIGNED = { authorization: 'AWS4-HMAC-SHA256 Credential=local/19700101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=none', 'x-amz-date': '19700101T000000Z' };

/**
 * The client settings for an endpoint: an http(s) URL as it is, or `unix:<path>`, the embedded
 * table: through its thread's channel when this process serves it, else through its socket.
 */
export function tableClientConfig(endpoint: string | undefined): DynamoDBClientConfig {
  if (!endpoint) return {};
  if (!endpoint.startsWith('unix:')) return { endpoint };
  // The socket is the embedded table's alone (mode 0600 in a private home), and so is the channel:
  // a signature there would prove nothing, so requests carry the header's shape without one (SigV4
  // is a fair share of each call's CPU). dynalite checks the shape, never the signature.
  const unsigned = { sign: async <R extends { headers: Record<string, string> }>(request: R) => Object.assign(request, { headers: { ...request.headers, ...UNSIGNED } }) };
  const channel = inProcessChannel(endpoint);
  if (channel) return { endpoint: 'http://localhost', requestHandler: new ChannelRequestHandler(channel), signer: unsigned };
  const socketPath = endpoint.slice('unix:'.length);
  const agent = new Agent({ keepAlive: true });
  agent.createConnection = () => connect(socketPath);
  return { endpoint: 'http://localhost', requestHandler: new NodeHttpHandler({ httpAgent: agent }), signer: unsigned };
}

export function openTable(name: string, config: DynamoDBClientConfig = {}): Table {
  return { doc: new DocumentClient(recordingCalls(new DynamoDBClient({ ...config, cacheMiddleware: true }), 'dynamodb')), name };
}

export function encodeToken(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/** Key attributes a page token may hold: the table's and its indexes' keys, and nothing else. */
const KEY_ATTRIBUTE = /^(pk|sk|gsi\d(pk|sk))$/;

/**
 * The key a nextToken stands for, checked to be a key of the partition being read (`pkName` =
 * `pk`): anything else is the caller's mistake, never a query DynamoDB would refuse.
 */
export function decodeToken(token: string | undefined, pkName: string, pk: string, range: { skPrefix?: string; skBefore?: string } = {}): Record<string, unknown> | undefined {
  if (!token) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  // A page's last key holds exactly the table's key and, on an index, the index's key.
  const required = new Set(['pk', 'sk', pkName, pkName.replace(/pk$/, 'sk')]);
  const valid = key && typeof key === 'object' && !Array.isArray(key)
    && (key as Record<string, unknown>)[pkName] === pk
    && Object.keys(key).length === required.size && [...required].every((name) => typeof (key as Record<string, unknown>)[name] === 'string')
    && Object.entries(key).every(([name, value]) => KEY_ATTRIBUTE.test(name) && typeof value === 'string' && value.length <= 1024)
    && withinRange(String((key as Record<string, unknown>)[pkName.replace(/pk$/, 'sk')]), range);
  if (!valid) throw new ValidationError('nextToken is not a token this API returned for this query', 'nextToken');
  return key as Record<string, unknown>;
}

/** A resumed query starts inside the range the query reads, or it would read past what the caller asked for. */
function withinRange(sk: string, range: { skPrefix?: string; skBefore?: string }): boolean {
  if (range.skBefore !== undefined) return sk < range.skBefore;
  if (range.skPrefix !== undefined) return sk.startsWith(range.skPrefix);
  return true;
}

export function isConditionFailure(err: unknown): boolean {
  return (err as Error)?.name === 'ConditionalCheckFailedException';
}

/** Strips the key attributes (and the time to live) so callers get the domain object back. */
export function withoutKeys<T>(item: Item): T {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !/^(pk|sk|gsi\d(pk|sk)|ttl)$/.test(k))) as T;
}

/**
 * The table's time-to-live attribute (TimeToLiveSpecification in table.json): DynamoDB deletes the
 * item some time (up to days) after this epoch second, so nothing may count on the moment.
 */
export function expiresAfter(from: Date | string, days: number): { ttl: number } {
  return { ttl: Math.floor(new Date(from).getTime() / 1000) + days * 86_400 };
}

/** A sort key stops at 1,024 bytes: an event id that could pass it (one naming a log URL) is keyed by its SHA-256. */
export function idSortKey(id: string): string {
  return Buffer.byteLength(id) > 256 ? `sha256:${createHash('sha256').update(id).digest('hex')}` : id;
}

/**
 * `value` as a key part of at most `maxBytes` UTF-8 bytes: itself when it fits, else its head and
 * the SHA-256 of the whole. DynamoDB refuses a partition key over 2048 bytes and a sort key over
 * 1024 (an index's keys too), and a certificate from a scan or CT can name anything. The head keeps
 * begins_with queries on shorter prefixes finding it; distinct values stay distinct.
 */
export function boundedKeyPart(value: string, maxBytes: number): string {
  if (Buffer.byteLength(value) <= maxBytes) return value;
  const digest = createHash('sha256').update(value).digest('hex');
  const budget = maxBytes - digest.length - 1;
  // A cut through a multi-byte character decodes to U+FFFD, which may not fit: it goes.
  let head = Buffer.from(value).subarray(0, budget).toString('utf8');
  while (Buffer.byteLength(head) > budget) head = head.slice(0, -1);
  return `${head}~${digest}`;
}

export interface Key {
  pk: string;
  sk: string;
}

/** Sends a conditional write: true when it was made, false when its condition did not hold (nothing changed). */
export async function conditionalWrite(table: Table, command: PutCommand | UpdateCommand | DeleteCommand): Promise<boolean> {
  try {
    await table.doc.send(command as UpdateCommand);
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** Writes the item only if its key is new; false when it existed (nothing changed). */
export function putIfAbsent(table: Table, item: Item & Key): Promise<boolean> {
  return conditionalWrite(table, new PutCommand({ TableName: table.name, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));
}

export { getItem } from './batch.ts';

/**
 * Sets attributes of an existing item, removing those given as undefined (and `removes`); throws
 * ConditionalCheckFailed when it does not exist, or when an attribute of `expect` has another value.
 */
export async function setFields(table: Table, key: Key, fields: Record<string, unknown>, extraRemoves: string[] = [], expect: Record<string, unknown> = {}): Promise<void> {
  const removes = [...extraRemoves, ...Object.keys(fields).filter((k) => fields[k] === undefined)];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments = Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:v${i}`] = v;
    return `#f${i} = :v${i}`;
  });
  removes.forEach((k, i) => (names[`#r${i}`] = k));
  const expression = [
    assignments.length ? `SET ${assignments.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.map((_, i) => `#r${i}`).join(', ')}` : '',
  ].join(' ').trim();
  if (!expression) return;
  const conditions = ['attribute_exists(pk)', ...Object.entries(expect).map(([k, v], i) => {
    names[`#e${i}`] = k;
    values[`:e${i}`] = v;
    return `#e${i} = :e${i}`;
  })];
  await table.doc.send(new UpdateCommand({
    TableName: table.name,
    Key: key,
    UpdateExpression: expression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
    ConditionExpression: conditions.join(' AND '),
  }));
}

/** One page of a partition (or index partition), in sort-key order. */
export async function queryPage(table: Table, input: { index?: string; pkName: string; pk: string; limit?: number; nextToken?: string; newestFirst?: boolean; skBefore?: string; skPrefix?: string }) {
  const skCondition = input.skBefore ? ' AND #sk < :s' : input.skPrefix ? ' AND begins_with(#sk, :s)' : '';
  const skValue = input.skBefore ?? input.skPrefix;
  const out = await table.doc.send(new QueryCommand({
    TableName: table.name,
    IndexName: input.index,
    KeyConditionExpression: `#pk = :p${skCondition}`,
    ExpressionAttributeNames: skCondition ? { '#pk': input.pkName, '#sk': input.pkName.replace('pk', 'sk') } : { '#pk': input.pkName },
    ExpressionAttributeValues: skCondition ? { ':p': input.pk, ':s': skValue } : { ':p': input.pk },
    ScanIndexForward: !input.newestFirst,
    Limit: input.limit,
    ExclusiveStartKey: decodeToken(input.nextToken, input.pkName, input.pk, input),
  }));
  return { items: out.Items ?? [], nextToken: encodeToken(out.LastEvaluatedKey), itemsRead: out.ScannedCount ?? 0 };
}

/** Queries one filtered page makes at most. */
const MAX_QUERIES = 25;

/**
 * A page of at most `limit` items of a partition that `keep` lets through (it turns the raw items of each
 * query into the caller's, given those kept so far). Each query asks for exactly what is still
 * missing, so the token resumes right after the last item returned; `itemsRead` counts what the
 * queries read.
 */
export async function keptPage<T>(table: Table, query: Omit<Parameters<typeof queryPage>[1], 'limit' | 'nextToken'>, limit: number, nextToken: string | undefined, keep: (items: Item[], kept: T[]) => T[] | Promise<T[]>) {
  const items: T[] = [];
  let itemsRead = 0;
  let token = nextToken;
  // A filter that lets little through would cost a query per item near a page's end: past
  // MAX_QUERIES the page goes out short, its token resuming where the reading stopped.
  for (let queries = 0; queries < MAX_QUERIES; queries++) {
    const page = await queryPage(table, { ...query, limit: limit - items.length, nextToken: token });
    itemsRead += page.itemsRead;
    items.push(...(await keep(page.items, items)));
    token = page.nextToken;
    if (!token || items.length >= limit) break;
  }
  return { items, nextToken: token, itemsRead };
}

/** Every item of a partition, following pages; for partitions known to stay small (targets, logs, dead letters, one certificate's history). */
export async function queryAll(table: Table, input: { index?: string; pkName: string; pk: string; skPrefix?: string; skBefore?: string }): Promise<Item[]> {
  const items: Item[] = [];
  let nextToken: string | undefined;
  do {
    const page = await queryPage(table, { ...input, nextToken });
    items.push(...page.items);
    nextToken = page.nextToken;
  } while (nextToken);
  return items;
}
