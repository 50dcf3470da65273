import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Notice } from '../../shared/notification-config.ts';
import type { NotificationLedger } from '../../shared/ports.ts';
import { expiresAfter, getItem, queryAll, type Table } from './table.ts';

/** A sent notice is remembered long enough to outlast every retry of its event (its queue keeps a message 4 days). */
const KEEP_DAYS = 14;
const key = (eventId: string, channel: string) => ({ pk: `NOTICE#${eventId}`, sk: `CHANNEL#${channel}` });
/** A channel's digest: its held notices in one partition, by when they happened. */
const heldKey = (channel: string, notice: Notice) => ({ pk: `DIGEST#${channel}`, sk: `${notice.occurredAt}#${notice.eventId}` });

/** Sent notices, one item per event and channel, expiring (TTL) after two weeks; notices held for a channel's digest until it goes out. */
export class DynamoNotificationLedger implements NotificationLedger {
  constructor(private readonly table: Table) {}

  async sent(eventId: string, channel: string): Promise<boolean> {
    return (await getItem(this.table, key(eventId, channel))) !== undefined;
  }

  async markSent(eventId: string, channel: string, at: Date): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...key(eventId, channel), sentAt: at.toISOString(), ...expiresAfter(at, KEEP_DAYS) } }));
  }

  async holdForDigest(channel: string, notice: Notice): Promise<void> {
    // Held at most two weeks: a channel removed since (or failing for that long) does not keep them for ever.
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...heldKey(channel, notice), noticeJson: JSON.stringify(notice), ...expiresAfter(new Date(notice.occurredAt || Date.now()), KEEP_DAYS) } }));
  }

  async heldForDigest(channel: string): Promise<Notice[]> {
    return (await queryAll(this.table, { pkName: 'pk', pk: `DIGEST#${channel}` })).map((i) => JSON.parse(String(i.noticeJson)) as Notice);
  }

  async releaseDigest(channel: string, notices: Notice[]): Promise<void> {
    await Promise.all(notices.map((n) => this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: heldKey(channel, n) }))));
  }
}
