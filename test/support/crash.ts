import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { openTable, tableClientConfig, type Item } from '../../adapters/dynamodb/table.ts';
import { startDynalite } from '../../local/embedded-dynamodb.ts';
import { apiCall } from './api.ts';
import { cli } from './cli.ts';
import { startStack, type RunningStack } from './processes.ts';

/** What the crash tests set on every start: short intervals, so a restarted stack finishes its work in seconds. */
export const FAST = {
  CERTOPS_SCHEDULE_INTERVAL_MS: '1000',
  CERTOPS_VERIFY_DELAY_MS: '100',
  // Up to 1.5 s for a server to reload under a loaded CI machine (delays double from 100 ms).
  CERTOPS_VERIFY_ATTEMPTS: '5',
  CERTOPS_SAGA_RETRY_MS: '0',
  CERTOPS_BUS_RETRY_MS: '50',
};

/** An HTTP client of one running stack, with the admin token of its state folder. */
export function apiOf(stack: RunningStack) {
  const token = readFileSync(stack.tokenFile, 'utf8').trim();
  return (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => apiCall(stack.url, token, method, path, body, headers);
}

/** Starts the stack set to die at `point` (CERTOPS_CRASH_AT), as kill -9 would. */
export function startDoomed(home: string, point: string, env: Record<string, string> = {}): Promise<RunningStack> {
  return startStack(home, { ...FAST, ...env, CERTOPS_CRASH_AT: point });
}

/** Resolves with the signal that ended the stack; rejects if it is still alive after `timeoutMs`. */
export function death(stack: RunningStack, timeoutMs = 60_000): Promise<NodeJS.Signals | null> {
  const { child } = stack;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stack did not reach its crash point within ${timeoutMs} ms:\n${stack.output().slice(-3000)}`)), timeoutMs);
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal);
    });
  });
}

/** The SIEM file sink's lines (the local stack's default sink). */
export function siemLines(home: string): Record<string, any>[] {
  const file = join(home, 'siem', 'events.ndjson');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

/** The audit trail as `certops audit export` prints it, and what `certops audit verify` says of it. */
export async function auditOf(stack: RunningStack): Promise<{ records: Record<string, any>[]; verify: { code: number; stdout: string } }> {
  const env = { CERTOPS_HOME: stack.home };
  const exported = await cli(['audit', 'export', '--endpoint', stack.url], env);
  if (exported.code !== 0) throw new Error(`audit export failed: ${exported.stderr}`);
  const verify = await cli(['audit', 'verify', '--endpoint', stack.url], env);
  return { records: exported.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), verify };
}

/**
 * Every item of a stopped stack's table, read from its files with a dynalite of the test's own:
 * what no API lists (the CA's journal, locks, undelivered events, executions).
 */
export async function tableItems(home: string): Promise<Item[]> {
  const { endpoint, close } = await startDynalite(mkdtempSync(join(tmpdir(), 'certops-inspect-')), join(home, 'dynamodb'));
  const table = openTable('certops-local', { ...tableClientConfig(endpoint), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const items: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await table.doc.send(new ScanCommand({ TableName: table.name, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    // The client's keep-alive socket would hold the server (and so its LevelDB files) open: the
    // stack started next on this folder must find them free.
    table.doc.destroy();
    await close();
  }
}

/** A lock older than its lease: its holder stopped renewing it (a live holder renews it; a clean stop may leave one that lapses). */
export function staleLock(item: Item): boolean {
  const now = new Date().toISOString();
  // A request's lease lives in its own item (DynamoRequestLeases), and ends with the work on it.
  return (String(item.pk).startsWith('LOCK#') && String(item.until) < now) || (item.sk === 'REQ' && item.leaseOwner !== undefined && (item.status !== 'approved' || String(item.leaseUntil) < now));
}
