import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LockStore } from '../../shared/ports.ts';
import type { Clock } from '../../shared/ports.ts';
import { getItem, isConditionFailure, queryAll, type Table } from './table.ts';

const key = (resource: string) => ({ pk: `LOCK#${resource}`, sk: 'LOCK' });

export class DynamoLockStore implements LockStore {
  constructor(private readonly table: Table, private readonly clock: Clock) {}

  async acquire(resource: string, owner: string, until: Date): Promise<boolean> {
    try {
      await this.table.doc.send(new PutCommand({
        TableName: this.table.name,
        Item: { ...key(resource), owner, until: until.toISOString(), gsi1pk: 'LOCKS', gsi1sk: resource },
        ConditionExpression: 'attribute_not_exists(pk) OR #o = :owner OR #u < :now',
        ExpressionAttributeNames: { '#o': 'owner', '#u': 'until' },
        ExpressionAttributeValues: { ':owner': owner, ':now': this.clock.now().toISOString() },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async release(resource: string, owner: string): Promise<void> {
    try {
      await this.table.doc.send(new DeleteCommand({
        TableName: this.table.name,
        Key: key(resource),
        ConditionExpression: '#o = :owner',
        ExpressionAttributeNames: { '#o': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }));
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  async holder(resource: string): Promise<string | undefined> {
    return (await getItem(this.table, key(resource)))?.owner as string | undefined;
  }

  async freeAll(): Promise<number> {
    const held = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'LOCKS' });
    for (const lock of held) await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: { pk: String(lock.pk), sk: String(lock.sk) } }));
    return held.length;
  }
}
