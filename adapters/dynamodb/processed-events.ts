import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ProcessedEvents } from '../../shared/ports.ts';
import { getItem, type Table } from './table.ts';

const key = (consumer: string, eventId: string) => ({ pk: `SEEN#${consumer}#${eventId}`, sk: 'SEEN' });
/** Replays come within EventBridge's 24-hour retry window; a week covers manual replays too. */
const KEEP_SECONDS = 7 * 86_400;

export class DynamoProcessedEvents implements ProcessedEvents {
  constructor(private readonly table: Table) {}

  async seen(consumer: string, eventId: string): Promise<boolean> {
    return Boolean(await getItem(this.table, key(consumer, eventId)));
  }

  async remember(consumer: string, eventId: string): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...key(consumer, eventId), expiresAt: Math.floor(Date.now() / 1000) + KEEP_SECONDS } }));
  }
}
