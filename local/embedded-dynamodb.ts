import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { chmod, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import tableDefinition from '../adapters/dynamodb/table.json' with { type: 'json' };
import { tableClientConfig } from '../adapters/dynamodb/table.ts';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;

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

/**
 * dynalite (DynamoDB's API over LevelDB) with its data under `path` (in memory without one),
 * listening on a unix socket in `folder` (mode 0600, in a folder only its owner may enter), never
 * on a TCP port: no other local user can reach the table. The endpoint is `unix:<socket path>`
 * (see tableClientConfig). Fails when another process already serves `folder`.
 */
export async function startDynalite(folder: string, path?: string): Promise<{ endpoint: string; server: Server }> {
  const wanted = join(folder, 'dynamodb.sock');
  const socketPath = wanted.length <= MAX_SOCKET_PATH ? wanted : join(mkdtempSync(join(tmpdir(), 'certops-db-')), 'd.sock');
  if (await answering(socketPath)) throw new Error(`another certops serves ${folder} already (its table answers on ${socketPath}); stop it first`);
  await rm(socketPath, { force: true });
  const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  server.once('close', () => void rm(socketPath, { force: true }));
  return { endpoint: `unix:${socketPath}`, server };
}

/** Creates the single table from the same definition CloudFormation uses, unless it exists already. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ ...tableClientConfig(endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    await client.send(new CreateTableCommand({ TableName: tableName, ...(tableDefinition as object) }));
  } finally {
    client.destroy();
  }
}
