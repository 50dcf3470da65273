import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenStore } from '../../shared/ports.ts';
import type { ApiToken } from '../../shared/model.ts';
import { isLive } from '../../shared/api-token.ts';
import { getItem, isConditionFailure, putIfAbsent, queryAll, withoutKeys, type Key, type Table } from './table.ts';

const tokenKey = (tokenId: string) => ({ pk: `TOKEN#${tokenId}`, sk: 'TOKEN' });
/** How long a claim whose token is not written yet holds: a creation takes milliseconds, a crash leaves it for good. */
const CLAIM_GRACE_MS = 60_000;
const claimKey = (field: 'name' | 'eventSources', value: string) => ({ pk: `${field === 'name' ? 'TOKENNAME' : 'TOKENSOURCE'}#${value}`, sk: 'CLAIM' });

/**
 * Tokens by id, with one claim item per name and per event source pointing at the token that
 * holds it. A claim whose token is gone, revoked or expired is free to take over; a crash
 * between claiming and storing the token therefore leaves nothing that blocks a retry.
 */
export class DynamoTokenStore implements TokenStore {
  constructor(private readonly table: Table) {}

  async create(token: ApiToken, secretHash: string, now: Date) {
    const claims: [('name' | 'eventSources'), string][] = [['name', token.name], ...token.eventSources.map((s): ['eventSources', string] => ['eventSources', s])];
    const taken: Key[] = [];
    for (const [field, value] of claims) {
      const holder = await this.claim(claimKey(field, value), token.tokenId, now);
      if (holder) {
        await Promise.all(taken.map((key) => this.release(key, token.tokenId)));
        return { clash: { field, value, tokenId: holder } };
      }
      taken.push(claimKey(field, value));
    }
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name,
      Item: { ...token, secretHash, ...tokenKey(token.tokenId), gsi1pk: 'TOKENS', gsi1sk: `${token.createdAt}#${token.tokenId}` },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return {};
  }

  /**
   * Takes the claim for `tokenId`; returns the holder's id when another token has it: a live one,
   * or one whose claim is younger than CLAIM_GRACE_MS and whose token is not written yet (a
   * creation under way; past the grace it was a crash, and the claim is free).
   */
  private async claim(key: Key, tokenId: string, now: Date): Promise<string | undefined> {
    const claimedAt = now.toISOString();
    if (await putIfAbsent(this.table, { ...key, tokenId, claimedAt })) return undefined;
    const current = await getItem(this.table, key);
    const holder = current && (await this.get(String(current.tokenId)));
    if (holder && holder.tokenId !== tokenId && isLive(holder, now)) return holder.tokenId;
    if (current && !holder && Date.parse(String(current.claimedAt)) > now.getTime() - CLAIM_GRACE_MS) return String(current.tokenId);
    try {
      await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...key, tokenId, claimedAt }, ConditionExpression: 'tokenId = :old', ExpressionAttributeValues: { ':old': current?.tokenId } }));
      return undefined;
    } catch (err) {
      if (isConditionFailure(err)) return String((await getItem(this.table, key))?.tokenId);
      throw err;
    }
  }

  private async release(key: Key, tokenId: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: key, ConditionExpression: 'tokenId = :id', ExpressionAttributeValues: { ':id': tokenId } })).catch((err) => {
      if (!isConditionFailure(err)) throw err;
    });
  }

  async get(tokenId: string) {
    const item = await getItem(this.table, tokenKey(tokenId));
    return item && withoutKeys<ApiToken & { secretHash: string }>(item);
  }

  async list(): Promise<ApiToken[]> {
    const items = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'TOKENS' });
    return items.reverse().map((i) => {
      const { secretHash: _hidden, ...token } = withoutKeys<ApiToken & { secretHash: string }>(i);
      return token;
    });
  }

  async revoke(tokenId: string, revokedBy: string, at: Date): Promise<ApiToken | undefined> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: tokenKey(tokenId),
        UpdateExpression: 'SET revokedAt = :at, revokedBy = :by',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
        ExpressionAttributeValues: { ':at': at.toISOString(), ':by': revokedBy },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const token = await this.get(tokenId);
    if (!token) return undefined;
    const { secretHash: _hidden, ...rest } = token;
    return rest;
  }

  async byEventSource(source: string, now: Date): Promise<ApiToken | undefined> {
    const claim = await getItem(this.table, claimKey('eventSources', source));
    const token = claim && (await this.get(String(claim.tokenId)));
    if (!token || !isLive(token, now) || !token.eventSources.includes(source)) return undefined;
    const { secretHash: _hidden, ...rest } = token;
    return rest;
  }
}
