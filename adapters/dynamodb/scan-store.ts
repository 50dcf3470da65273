import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ScanStore } from '../../shared/ports.ts';
import type { Scan, ScanChunk, ScanResult } from '../../shared/model.ts';
import { isConditionFailure, expiresAfter, getItem, putIfAbsent, queryAll, queryPage, setFields, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `SCAN#${id}`, sk: 'SCAN' });
// Zero-padded, so a scan's chunks sort in order (before its EP# results and the SCAN item).
const chunkKey = (id: string, chunk: number) => ({ pk: `SCAN#${id}`, sk: `CHUNK#${String(chunk).padStart(6, '0')}` });
/** A scan and its results are kept this long; what each endpoint serves stays in its ENDPOINT item and the inventory. */
const SCAN_RETENTION_DAYS = 90;

export class DynamoScanStore implements ScanStore {
  constructor(private readonly table: Table) {}

  create(scan: Scan): Promise<boolean> {
    // Listed by whom (the caller's scan slots) and, all together, newest first (a byStatus partition no certificate uses).
    return putIfAbsent(this.table, { ...scan, ...key(scan.scanId), ...expiresAfter(scan.startedAt, SCAN_RETENTION_DAYS), gsi1pk: `SCANBY#${scan.requestedBy}`, gsi1sk: `${scan.startedAt}#${scan.scanId}`, gsi5pk: 'SCANS', gsi5sk: `${scan.startedAt}#${scan.scanId}` });
  }

  async list(page: { limit: number; nextToken?: string }): Promise<{ items: Scan[]; nextToken?: string }> {
    const found = await queryPage(this.table, { index: 'byStatus', pkName: 'gsi5pk', pk: 'SCANS', limit: page.limit, nextToken: page.nextToken, newestFirst: true });
    return { items: found.items.map((i) => withoutKeys<Scan>(i)), ...(found.nextToken ? { nextToken: found.nextToken } : {}) };
  }

  /** Reads the caller's newest scans only: limits keep a caller's running scans few. */
  async runningBy(requestedBy: string, since: Date): Promise<Scan[]> {
    const { items } = await queryPage(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: `SCANBY#${requestedBy}`, newestFirst: true, limit: 100 });
    return items.map((i) => withoutKeys<Scan>(i)).filter((s) => s.status === 'running' && s.startedAt >= since.toISOString());
  }

  update(scanId: string, fields: Partial<Scan>): Promise<void> {
    return setFields(this.table, key(scanId), fields);
  }

  async finish(scanId: string, fields: Partial<Scan>): Promise<boolean> {
    try {
      await setFields(this.table, key(scanId), fields, [], { status: 'running' });
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async putResult(scanId: string, result: ScanResult): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...result, pk: `SCAN#${scanId}`, sk: `EP#${result.host}:${result.port}`, ...expiresAfter(new Date(), SCAN_RETENTION_DAYS) } }));
  }

  async get(scanId: string): Promise<Scan | undefined> {
    const item = await getItem(this.table, key(scanId));
    return item ? withoutKeys<Scan>(item) : undefined;
  }

  async results(scanId: string, page: { limit: number; nextToken?: string }) {
    const { items, nextToken } = await queryPage(this.table, { pkName: 'pk', pk: `SCAN#${scanId}`, skPrefix: 'EP#', limit: page.limit, nextToken: page.nextToken });
    return { items: items.map((i) => withoutKeys<ScanResult>(i)), nextToken };
  }

  async chunkProgress(scanId: string, chunk: number, done: number): Promise<void> {
    await this.table.doc.send(new UpdateCommand({
      TableName: this.table.name, Key: chunkKey(scanId, chunk), UpdateExpression: 'SET chunk = :c, done = :d, #ttl = :t',
      ExpressionAttributeNames: { '#ttl': 'ttl' }, ExpressionAttributeValues: { ':c': chunk, ':d': done, ':t': expiresAfter(new Date(), SCAN_RETENTION_DAYS).ttl },
    }));
  }

  async finishChunk(scanId: string, chunk: ScanChunk): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...chunk, ...chunkKey(scanId, chunk.chunk), ...expiresAfter(new Date(), SCAN_RETENTION_DAYS) } }));
  }

  async chunks(scanId: string): Promise<ScanChunk[]> {
    return (await queryAll(this.table, { pkName: 'pk', pk: `SCAN#${scanId}`, skPrefix: 'CHUNK#' })).map((i) => withoutKeys<ScanChunk>(i));
  }

  async observeEndpoint(host: string, port: number, certificateId: string, at: string): Promise<string | undefined> {
    const out = await this.table.doc.send(new UpdateCommand({
      TableName: this.table.name,
      Key: { pk: `ENDPOINT#${host}:${port}`, sk: 'ENDPOINT' },
      UpdateExpression: 'SET certificateId = :c, lastSeen = :t',
      ExpressionAttributeValues: { ':c': certificateId, ':t': at },
      ReturnValues: 'UPDATED_OLD',
    }));
    return out.Attributes?.certificateId as string | undefined;
  }
}
