import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { NotificationLedger } from '../../shared/ports.ts';
import { expiresAfter, getItem, type Table } from './table.ts';

/** A sent notice is remembered long enough to outlast every retry of its event (its queue keeps a message 4 days). */
const KEEP_DAYS = 14;
const key = (eventId: string, channel: string) => ({ pk: `NOTICE#${eventId}`, sk: `CHANNEL#${channel}` });

/** Sent notices, one item per event and channel, expiring (TTL) after two weeks. */
export class DynamoNotificationLedger implements NotificationLedger {
  constructor(private readonly table: Table) {}

  async sent(eventId: string, channel: string): Promise<boolean> {
    return (await getItem(this.table, key(eventId, channel))) !== undefined;
  }

  async markSent(eventId: string, channel: string, at: Date): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...key(eventId, channel), sentAt: at.toISOString(), ...expiresAfter(at, KEEP_DAYS) } }));
  }
}
