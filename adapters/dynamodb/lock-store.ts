import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LockStore } from '../../shared/ports.ts';
import type { Clock } from '../../shared/ports.ts';
import { conditionalWrite, getItem, queryAll, type Table } from './table.ts';

const key = (resource: string) => ({ pk: `LOCK#${resource}`, sk: 'LOCK' });

/**
 * Locks as items with an owner and a lease end (`until`), taken by a conditional put: free when
 * absent, expired, held by the same owner, or taken (or last renewed, which a live owner does every
 * third of its lease) before `ownersGoneBefore`, the moment the runtime knows every earlier holder
 * is gone (the local stack's start). That last rule does not rely on listing the locks: the
 * embedded table writes an index entry apart from its item, so a kill between the two can hide a
 * lock from freeAll.
 */
export class DynamoLockStore implements LockStore {
  constructor(private readonly table: Table, private readonly clock: Clock, private readonly ownersGoneBefore?: Date) {}

  acquire(resource: string, owner: string, until: Date): Promise<boolean> {
    const now = this.clock.now().toISOString();
    return conditionalWrite(this.table, new PutCommand({
      TableName: this.table.name,
      Item: { ...key(resource), owner, until: until.toISOString(), since: now, gsi1pk: 'LOCKS', gsi1sk: resource },
      ConditionExpression: `attribute_not_exists(pk) OR #o = :owner OR #u < :now${this.ownersGoneBefore ? ' OR #s < :gone' : ''}`,
      ExpressionAttributeNames: { '#o': 'owner', '#u': 'until', ...(this.ownersGoneBefore ? { '#s': 'since' } : {}) },
      ExpressionAttributeValues: { ':owner': owner, ':now': now, ...(this.ownersGoneBefore ? { ':gone': this.ownersGoneBefore.toISOString() } : {}) },
    }));
  }

  async release(resource: string, owner: string): Promise<void> {
    await conditionalWrite(this.table, new DeleteCommand({
      TableName: this.table.name,
      Key: key(resource),
      ConditionExpression: '#o = :owner',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':owner': owner },
    }));
  }

  async holder(resource: string): Promise<string | undefined> {
    const lock = await getItem(this.table, key(resource));
    if (!lock || String(lock.until) < this.clock.now().toISOString()) return undefined;
    // A lock without `since` predates it: only its lease end tells.
    if (this.ownersGoneBefore && lock.since && String(lock.since) < this.ownersGoneBefore.toISOString()) return undefined;
    return lock.owner as string;
  }

  async freeAll(): Promise<number> {
    const held = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'LOCKS' });
    for (const lock of held) await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: { pk: String(lock.pk), sk: String(lock.sk) } }));
    return held.length;
  }
}
