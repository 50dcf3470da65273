import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import tableDefinition from '../adapters/dynamodb/table.json' with { type: 'json' };
import { tableClientConfig } from '../adapters/dynamodb/table.ts';
import { serveInProcess, stopServingInProcess, type TableChannel, type TableResponse } from '../adapters/dynamodb/in-process-table.ts';
import { ConflictError } from '../shared/errors.ts';

/** A unix socket path has room for about 107 bytes; a deeper folder gets a private one of its own under the temporary folder. */
const MAX_SOCKET_PATH = 100;

/** True when something answers on the socket: another process serves this state already. */
function answering(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socketPath, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** The embedded table: its endpoint, the writes it took (when counted), and how to stop it. */
export interface EmbeddedTable {
  endpoint: string;
  /** Since start, while counted (started with countWrites, or turned on by count): write calls, items (a batch counts each) and write request units; read calls, items returned and read request units (local/dynalite-worker.mjs). */
  writes(): Promise<TableUsage>;
  /** Turns counting on or off; requests sent once this resolves are counted (or not) accordingly. Counting reads every request again, some 5% of a burst's rate. */
  count(on: boolean): Promise<void>;
  /** LevelDB iterators open now: those of queries in progress (see dynalite-worker.mjs). */
  openIterators(): Promise<number>;
  close(): Promise<void>;
}

/** What the embedded table was asked, as DynamoDB on demand would bill it. */
export interface TableUsage {
  calls: number;
  items: number;
  /** Of `items`, those only the local stack writes (the bus's ledger, the saga runner's executions): EventBridge and Step Functions hold them on AWS. */
  localItems: number;
  writeUnits: number;
  readCalls: number;
  readItems: number;
  readUnits: number;
}

/**
 * Requests from this process's clients as messages to the table's thread (see serveInProcess):
 * each answered by its id; all of them failed when the thread ends or the table closes.
 */
function channelTo(worker: Worker): TableChannel & { close(reason: string): void } {
  const { port1: port, port2 } = new MessageChannel();
  worker.postMessage({ channel: port2 }, [port2]);
  const pending = new Map<number, { resolve(r: TableResponse): void; reject(e: Error): void }>();
  let nextId = 0;
  let closed: string | undefined;
  port.on('message', ({ id, response, error }: { id: number; response?: TableResponse; error?: string }) => {
    const waiting = pending.get(id);
    pending.delete(id);
    if (error) waiting?.reject(new Error(error));
    else waiting?.resolve(response!);
  });
  // The worker keeps the process up while the table is open; the channel itself does not.
  port.unref();
  return {
    request: (request) => new Promise((resolve, reject) => {
      if (closed) return reject(new Error(closed));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage({ id, request });
    }),
    close(reason) {
      closed ??= reason;
      for (const waiting of pending.values()) waiting.reject(new Error(reason));
      pending.clear();
      port.close();
    },
  };
}

/**
 * dynalite (DynamoDB's API over LevelDB) in a worker thread, with its data under `path` (in memory
 * without one), listening on a unix socket in `folder` (mode 0600, in a folder only its owner may
 * enter), never on a TCP port: no other local user can reach the table. The endpoint is
 * `unix:<socket path>` (see tableClientConfig). Fails when another process already serves `folder`.
 */
export async function startDynalite(folder: string, path?: string, options: { countWrites?: boolean } = {}): Promise<EmbeddedTable> {
  const wanted = join(folder, 'dynamodb.sock');
  const socketPath = wanted.length <= MAX_SOCKET_PATH ? wanted : join(mkdtempSync(join(tmpdir(), 'certops-db-')), 'd.sock');
  if (await answering(socketPath)) throw new ConflictError(`another certops serves ${folder} already (its table answers on ${socketPath}): stop it first, or give this one a folder of its own with CERTOPS_HOME`, 'CERTOPS_HOME');
  await rm(socketPath, { force: true });
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), { workerData: { socketPath, path, countWrites: options.countWrites ?? false } });
  const next = <T>(key: string) => new Promise<T>((resolve, reject) => {
    const onMessage = (message: Record<string, unknown>) => {
      if (message.error) return done(() => reject(new Error(`the embedded table did not start: ${message.error}`)));
      if (key in message) done(() => resolve(message[key] as T));
    };
    const onError = (err: Error) => done(() => reject(err));
    const done = (settle: () => void) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      settle();
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
  });
  await next('listening');
  const endpoint = `unix:${socketPath}`;
  const channel = channelTo(worker);
  serveInProcess(endpoint, channel);
  // A thread that fails fails what waits on it, and every request after: never the process.
  const ended = (reason: string) => {
    stopServingInProcess(endpoint);
    channel.close(reason);
  };
  worker.on('error', (err) => ended(`the embedded table's thread failed: ${err.message}`));
  worker.once('exit', () => ended('the embedded table\'s thread ended'));
  return {
    endpoint,
    writes: async () => {
      const counted = next<TableUsage>('writes');
      worker.postMessage('writes');
      return counted;
    },
    count: async (on) => {
      const answered = next<boolean>('counting');
      worker.postMessage({ count: on });
      await answered;
    },
    openIterators: async () => {
      const open = next<number>('iterators');
      worker.postMessage('iterators');
      return open;
    },
    close: async () => {
      stopServingInProcess(endpoint);
      const closed = next('closed');
      worker.postMessage('close');
      await closed;
      channel.close('the embedded table is closed');
      await worker.terminate();
      await rm(socketPath, { force: true });
    },
  };
}

/** How long a table created here may stay CREATING (dynalite makes it ACTIVE at once, after its answer). */
const ACTIVE_WITHIN_MS = 10_000;

/**
 * Creates the single table from the same definition CloudFormation uses, unless it exists
 * already, and returns once it is ACTIVE: until then DynamoDB (and dynalite) answer item requests
 * on it with ResourceNotFoundException.
 * @throws when the table is not ACTIVE within ACTIVE_WITHIN_MS.
 */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ ...tableClientConfig(endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const status = () => client.send(new DescribeTableCommand({ TableName: tableName })).then((d) => d.Table?.TableStatus, (err: Error) => {
    if (err.name === 'ResourceNotFoundException') return undefined;
    throw err;
  });
  try {
    if (!(await status())) {
      // Time to live, point-in-time recovery, encryption and deletion protection are the deployed table's settings (CloudFormation), not the embedded table's.
      const { TimeToLiveSpecification, PointInTimeRecoverySpecification, SSESpecification, DeletionProtectionEnabled, ...create } = tableDefinition as Record<string, unknown>;
      await client.send(new CreateTableCommand({ TableName: tableName, ...create } as CreateTableCommandInput));
    }
    for (const deadline = Date.now() + ACTIVE_WITHIN_MS; (await status()) !== 'ACTIVE';) {
      if (Date.now() > deadline) throw new Error(`the table ${tableName} is not ACTIVE ${ACTIVE_WITHIN_MS} ms after it was created`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    client.destroy();
  }
}
