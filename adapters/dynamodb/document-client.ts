import { BatchGetItemCommand, BatchWriteItemCommand, DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand as QueryItemsCommand, ScanCommand as ScanItemsCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient, type KeysAndAttributes, type WriteRequest } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand, BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand,
  type BatchGetCommandOutput, type BatchWriteCommandOutput, type DeleteCommandOutput, type GetCommandOutput, type NativeAttributeValue,
  type PutCommandOutput, type QueryCommandOutput, type ScanCommandOutput, type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';

type Native = Record<string, NativeAttributeValue>;
type Wire = Record<string, AttributeValue>;
/** What a command of the table's API takes and answers, loosely: each translation below names its fields. */
type Shape = Record<string, any>;

/** As the document client the stores used before: an undefined attribute is left out, not refused. */
const MARSHALL = { removeUndefinedValues: true };
const toWire = (value: Native | undefined): Wire | undefined => (value === undefined ? undefined : marshall(value, MARSHALL) as Wire);
const toNative = (value: Wire | undefined): Native | undefined => (value === undefined ? undefined : unmarshall(value));
/** `fields` of `shape` converted by `convert`, those it lacks left out. */
function converted<V, W>(shape: Shape, fields: string[], convert: (value: V) => W): Shape {
  const out = { ...shape };
  for (const field of fields) if (shape[field] !== undefined) out[field] = convert(shape[field]);
  return out;
}
const byTable = <V, W>(tables: Record<string, V> | undefined, convert: (value: V) => W) => tables && Object.fromEntries(Object.entries(tables).map(([name, value]) => [name, convert(value)]));
const writeToWire = (r: Shape): WriteRequest => converted(converted(r, ['PutRequest'], (p: Shape) => converted(p, ['Item'], toWire)), ['DeleteRequest'], (d: Shape) => converted(d, ['Key'], toWire));
const writeToNative = (r: Shape): Shape => converted(converted(r, ['PutRequest'], (p: Shape) => converted(p, ['Item'], toNative)), ['DeleteRequest'], (d: Shape) => converted(d, ['Key'], toNative));
const keysToWire = (r: Shape): KeysAndAttributes => converted(r, ['Keys'], (keys: Native[]) => keys.map(toWire)) as KeysAndAttributes;
const keysToNative = (r: Shape): Shape => converted(r, ['Keys'], (keys: Wire[]) => keys.map(toNative));

/** A document command: the table API's command it stands for, and how its input and output convert. */
interface Translation {
  command: new (input: any) => any;
  input(input: Shape): Shape;
  output(output: Shape): Shape;
}
const VALUES = 'ExpressionAttributeValues';
/** Parameters older than expressions, which hold attribute values too; no store uses them. */
const LEGACY_PARAMETERS = ['Expected', 'AttributeUpdates', 'KeyConditions', 'QueryFilter', 'ScanFilter'];
const TRANSLATIONS = new Map<unknown, Translation>([
  [PutCommand, { command: PutItemCommand, input: (i) => converted(i, ['Item', VALUES], toWire), output: (o) => converted(o, ['Attributes'], toNative) }],
  [GetCommand, { command: GetItemCommand, input: (i) => converted(i, ['Key'], toWire), output: (o) => converted(o, ['Item'], toNative) }],
  [DeleteCommand, { command: DeleteItemCommand, input: (i) => converted(i, ['Key', VALUES], toWire), output: (o) => converted(o, ['Attributes'], toNative) }],
  [UpdateCommand, { command: UpdateItemCommand, input: (i) => converted(i, ['Key', VALUES], toWire), output: (o) => converted(o, ['Attributes'], toNative) }],
  [QueryCommand, { command: QueryItemsCommand, input: (i) => converted(i, ['ExclusiveStartKey', VALUES], toWire), output: (o) => converted(converted(o, ['Items'], (items: Wire[]) => items.map(toNative)), ['LastEvaluatedKey'], toNative) }],
  [ScanCommand, { command: ScanItemsCommand, input: (i) => converted(i, ['ExclusiveStartKey', VALUES], toWire), output: (o) => converted(converted(o, ['Items'], (items: Wire[]) => items.map(toNative)), ['LastEvaluatedKey'], toNative) }],
  [BatchGetCommand, {
    command: BatchGetItemCommand,
    input: (i) => ({ ...i, RequestItems: byTable(i.RequestItems, keysToWire) }),
    output: (o) => ({ ...o, Responses: byTable(o.Responses, (items: Wire[]) => items.map(toNative)), UnprocessedKeys: byTable(o.UnprocessedKeys, keysToNative) }),
  }],
  [BatchWriteCommand, {
    command: BatchWriteItemCommand,
    input: (i) => ({ ...i, RequestItems: byTable(i.RequestItems, (requests: Shape[]) => requests.map(writeToWire)) }),
    output: (o) => ({ ...o, UnprocessedItems: byTable(o.UnprocessedItems, (requests: Shape[]) => requests.map(writeToNative)) }),
  }],
]);

/**
 * The stores' client of the table: it takes the document commands of @aws-sdk/lib-dynamodb (items
 * as plain values) and the table API's own, and sends them through a DynamoDBClient built with
 * `cacheMiddleware`, which resolves each command's middleware once instead of on every call: half
 * of a call's CPU on the local stack. DynamoDBDocumentClient refuses that option (its commands add
 * middleware per call), so the items convert here, with @aws-sdk/util-dynamodb as it converts them.
 */
export class DocumentClient {
  constructor(private readonly client: DynamoDBClient) {}

  /** The underlying client's middleware: added before the first call of a kind, or that kind's calls do without it. */
  get middlewareStack(): DynamoDBClient['middlewareStack'] {
    return this.client.middlewareStack;
  }

  send(command: PutCommand): Promise<PutCommandOutput>;
  send(command: GetCommand): Promise<GetCommandOutput>;
  send(command: DeleteCommand): Promise<DeleteCommandOutput>;
  send(command: UpdateCommand): Promise<UpdateCommandOutput>;
  send(command: QueryCommand): Promise<QueryCommandOutput>;
  send(command: ScanCommand): Promise<ScanCommandOutput>;
  send(command: BatchGetCommand): Promise<BatchGetCommandOutput>;
  send(command: BatchWriteCommand): Promise<BatchWriteCommandOutput>;
  /** A command of the table API itself (CreateTable, DescribeTable...), sent as it is. */
  send<T>(command: { input: object }): Promise<T>;
  async send(command: { input: Shape; constructor: unknown }): Promise<unknown> {
    const translation = TRANSLATIONS.get(command.constructor);
    if (!translation) {
      // A document command sent as it is would carry plain values, or with cached middleware the
      // first such command's input every time.
      if ('clientCommand' in command) throw new TypeError(`${(command.constructor as { name: string }).name} is not one of the document commands this client converts`);
      return this.client.send(command as never);
    }
    const legacy = LEGACY_PARAMETERS.find((field) => command.input[field] !== undefined);
    if (legacy) throw new TypeError(`${legacy} is a legacy parameter this client does not convert: use an expression`);
    const output = await this.client.send(new translation.command(translation.input(command.input)));
    return translation.output(output as Shape);
  }

  destroy(): void {
    this.client.destroy();
  }
}
