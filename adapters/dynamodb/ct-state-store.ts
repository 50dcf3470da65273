import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CtStateStore } from '../../shared/ports.ts';
import type { CtFinding, CtLogState, Page } from '../../shared/model.ts';
import { getItems } from './batch.ts';
import { getItem, isConditionFailure, keptPage, putIfAbsent, queryAll, setFields, withoutKeys, type Table } from './table.ts';

const logKey = (url: string) => ({ pk: `CTLOG#${url}`, sk: 'STATE' });
const watchlistKey = { pk: 'CT', sk: 'WATCHLIST' };
const findingKey = (id: string) => ({ pk: `CTFINDING#${id}`, sk: 'FINDING' });

export class DynamoCtStateStore implements CtStateStore {
  constructor(private readonly table: Table) {}

  async getLog(logUrl: string): Promise<CtLogState | undefined> {
    const item = await getItem(this.table, logKey(logUrl));
    return item && withoutKeys<CtLogState>(item);
  }

  async setPaused(logUrl: string, paused: boolean): Promise<boolean> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: logKey(logUrl),
        UpdateExpression: 'SET #z = :z', ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#z': 'paused' }, ExpressionAttributeValues: { ':z': paused },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async recordPollFailure(logUrl: string, error: string, retryAfter: Date): Promise<void> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: logKey(logUrl),
        UpdateExpression: 'SET #e = :e, #r = :r ADD #f :one', ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#e': 'lastError', '#r': 'retryAfter', '#f': 'failures' },
        ExpressionAttributeValues: { ':e': error, ':r': retryAfter.toISOString(), ':one': 1 },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async removeLog(logUrl: string): Promise<boolean> {
    const out = await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: logKey(logUrl), ReturnValues: 'ALL_OLD' }));
    return Boolean(out.Attributes);
  }

  async saveLog(saved: CtLogState, expectedPosition: number | undefined): Promise<boolean> {
    // A poll that saves has succeeded: the failures recorded before are over.
    const { lastError: _e, failures: _f, retryAfter: _r, ...state } = saved;
    try {
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        Item: { ...state, ...logKey(state.logUrl), gsi1pk: 'CTLOGS', gsi1sk: state.logUrl },
        ...(expectedPosition === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          // A pause (or removal) made while this poll ran wins: the save fails and the next poll sees it.
          : {
            ConditionExpression: '#p = :p AND ' + (state.paused ? '#z = :t' : '(attribute_not_exists(#z) OR #z = :f)'),
            ExpressionAttributeNames: { '#p': 'position', '#z': 'paused' },
            ExpressionAttributeValues: { ':p': expectedPosition, ...(state.paused ? { ':t': true } : { ':f': false }) },
          }),
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async listLogs(): Promise<CtLogState[]> {
    return (await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'CTLOGS' })).map((i) => withoutKeys<CtLogState>(i));
  }

  putFinding(finding: CtFinding): Promise<boolean> {
    return putIfAbsent(this.table, { ...finding, ...findingKey(finding.id), gsi1pk: 'CTFINDINGS', gsi1sk: `${finding.firstSeen}#${finding.id}` });
  }

  async getFinding(id: string): Promise<CtFinding | undefined> {
    const item = await getItem(this.table, findingKey(id));
    return item && withoutKeys<CtFinding>(item);
  }

  async getFindings(ids: string[]): Promise<(CtFinding | undefined)[]> {
    return (await getItems(this.table, ids.map(findingKey))).map((item) => item && withoutKeys<CtFinding>(item));
  }

  async listFindings(page: { limit: number; nextToken?: string; status?: CtFinding['status'] }): Promise<Page<CtFinding>> {
    const found = await keptPage<CtFinding>(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'CTFINDINGS', newestFirst: true }, page.limit, page.nextToken,
      (items) => items.map((i) => withoutKeys<CtFinding>(i)).filter((f) => !page.status || f.status === page.status));
    return { items: found.items, ...(found.nextToken ? { nextToken: found.nextToken } : {}) };
  }

  async authorize(id: string): Promise<void> {
    await setFields(this.table, findingKey(id), { status: 'authorized' });
  }

  async getWatchlist(): Promise<string[]> {
    return ((await getItem(this.table, watchlistKey))?.domains as string[] | undefined) ?? [];
  }

  async putWatchlist(domains: string[]): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...watchlistKey, domains } }));
  }
}
