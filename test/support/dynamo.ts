import type { Server } from 'node:http';
import { ensureTable, startDynalite } from '../../local/embedded-dynamodb.ts';
import { openTable, type Table } from '../../adapters/dynamodb/table.ts';

/** A fresh in-memory dynalite with the certops table, for store-level tests. */
export async function freshTable(): Promise<{ table: Table; endpoint: string; close(): Promise<void> }> {
  const { endpoint, server } = await startDynalite();
  await ensureTable(endpoint, 'certops-test');
  const table = openTable('certops-test', { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { table, endpoint, close: () => new Promise<void>((r) => (server as Server).close(() => r())) };
}
