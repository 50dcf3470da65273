import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The serverless.yml function an invocation runs as (the local invoker sets it; Lambda runs one function a process). */
const invokedFunction = new AsyncLocalStorage<string>();

/**
 * Runs `work` as the serverless.yml function `name`, so the calls it makes are recorded as that
 * function's. Only while calls are recorded: an AsyncLocalStorage in use puts a hook on every
 * promise of the process (a tenth of the local stack's CPU at full load).
 */
export function runAsFunction<T>(name: string, work: () => T): T {
  return process.env.CERTOPS_RECORD_AWS_CALLS ? invokedFunction.run(name, work) : work();
}

/**
 * The serverless.yml function this invocation runs as while calls are recorded, else undefined:
 * what pools work across callers (the table's batches) keeps each function's apart then, as
 * Lambda's one function per process does, so a call is recorded as its own function's alone.
 */
export function recordedFunction(): string | undefined {
  return invokedFunction.getStore();
}

/**
 * One AWS API call as IAM sees it: who (function), what (`service:Action`), on what (the input's
 * resource names), with the condition keys the request carries when they are not derived from
 * those names (an SDK-mock test records them: test/support/recorded-mock.ts).
 */
export interface RecordedCall {
  function: string;
  action: string;
  resources: Record<string, string>;
  context?: Record<string, string | string[]>;
}

/** Input fields that name the resources (or condition keys) an IAM policy is evaluated against. */
const RESOURCE_FIELDS = ['TableName', 'IndexName', 'EventBusName', 'Source', 'DetailType', 'stateMachineArn', 'executionArn', 'KeyId', 'SecretId', 'Name', 'CertificateArn', 'CertificateAuthorityArn', 'QueueName', 'QueueUrl', 'SourceArn', 'HostedZoneId', 'Id', 'TopicArn', 'FromEmailAddress'];

export function resourcesOf(input: Record<string, unknown>): Record<string, string>[] {
  const picked = (o: Record<string, unknown>) => Object.fromEntries(RESOURCE_FIELDS.filter((f) => typeof o[f] === 'string').map((f) => [f, o[f] as string]));
  // A batch names its tables (DynamoDB) or carries its entries (PutEvents): one call per table or entry, as IAM evaluates them.
  if (input.RequestItems && typeof input.RequestItems === 'object') return Object.keys(input.RequestItems).map((TableName) => ({ TableName }));
  if (Array.isArray(input.Entries)) return input.Entries.map((e) => picked(e as Record<string, unknown>));
  return [picked(input)];
}

const written = new Set<string>();

/** Appends `call` to `<folder>/<pid>.ndjson` unless this process wrote it already. */
export function writeRecordedCall(folder: string, call: RecordedCall): void {
  const line = JSON.stringify(call);
  if (written.has(line)) return;
  written.add(line);
  mkdirSync(folder, { recursive: true });
  appendFileSync(join(folder, `${process.pid}.ndjson`), `${line}\n`);
}
const WRITES = new Set(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']);

/**
 * A partition key cut to the kind the roles name (`TOKEN#abc` as `TOKEN#x`), keeping what tells
 * kinds apart where the roles do: a service's partition of the announcement ledger whole
 * (`ANNOUNCE#issuance`), a lock's family (`LOCK#certificate/x`).
 */
function kindOf(pk: string): string {
  if (pk.startsWith('ANNOUNCE#')) return pk;
  if (pk.startsWith('LOCK#')) return pk.replace(/^(LOCK#[^/:]*[/:]).*$/, '$1x');
  return pk.replace(/#.*$/, '#x');
}

/** What a table write carries for IAM's `dynamodb:LeadingKeys` (the items' partition keys, each as its kind), or undefined for other calls. */
function leadingKeys(action: string, input: Record<string, unknown>): Record<string, string[]> | undefined {
  if (!WRITES.has(action)) return undefined;
  type Keyed = { pk?: { S?: string } | string };
  const keyed: Keyed[] = action === 'dynamodb:BatchWriteItem'
    ? Object.values(input.RequestItems as Record<string, { PutRequest?: { Item: Keyed }; DeleteRequest?: { Key: Keyed } }[]>).flat().map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {})
    : [(input.Item ?? input.Key ?? {}) as Keyed];
  const kinds = keyed.map((k) => kindOf(String(typeof k.pk === 'string' ? k.pk : k.pk?.S)));
  return { 'dynamodb:LeadingKeys': [...new Set(kinds)].sort() };
}

/** The document client's commands, which send the table's own (GetCommand sends GetItem): not IAM actions themselves. */
const DOCUMENT_COMMANDS = new Set(['dynamodb:Get', 'dynamodb:Put', 'dynamodb:Update', 'dynamodb:Delete', 'dynamodb:BatchGet', 'dynamodb:BatchWrite', 'dynamodb:TransactGet', 'dynamodb:TransactWrite']);

/**
 * Test builds: with CERTOPS_RECORD_AWS_CALLS naming a folder, every call the client sends is
 * appended (once per distinct call) to `<folder>/<pid>.ndjson` with the function it was made for,
 * for the IAM coverage test. Lambda bundles have the variable compiled out (serverless.yml,
 * esbuild `define`). Calls made outside any function are the local stack's own (its bus, its
 * state machine runner, its start) and are recorded as `(local)`.
 * @param service the IAM service prefix (dynamodb, events, states, kms, ...).
 */
export function recordingCalls<C extends { middlewareStack: { add(mw: unknown, options: unknown): void } }>(client: C, service: string): C {
  const folder = process.env.CERTOPS_RECORD_AWS_CALLS;
  if (!folder) return client;
  client.middlewareStack.add((next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
    const action = `${service}:${String(context.commandName).replace(/Command$/, '')}`;
    if (DOCUMENT_COMMANDS.has(action)) return next(args);
    // Lambda (and an isolated local function's environment) names its function in the environment.
    const keys = leadingKeys(action, args.input);
    for (const resources of resourcesOf(args.input)) writeRecordedCall(folder, { function: recordedFunction() ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? '(local)', action, resources, ...(keys ? { context: keys } : {}) });
    return next(args);
  }, { step: 'initialize', name: 'certopsCallRecorder' });
  return client;
}
