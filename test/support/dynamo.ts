import { ensureTable, startDynalite } from '../../local/embedded-dynamodb.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTable, tableClientConfig, type Table } from '../../adapters/dynamodb/table.ts';

/** A fresh in-memory dynalite with the certops table, for store-level tests. */
export async function freshTable(): Promise<{ table: Table; endpoint: string; close(): Promise<void> }> {
  const { endpoint, close } = await startDynalite(mkdtempSync(join(tmpdir(), 'certops-table-')));
  await ensureTable(endpoint, 'certops-test');
  const table = openTable('certops-test', { ...tableClientConfig(endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return { table, endpoint, close: async () => { table.doc.destroy(); await close(); } };
}
