import type { BusEvent } from '../../shared/events/envelope.ts';
import type { AnnouncementLedger } from '../../shared/ports.ts';
import { batchWrite } from './batch.ts';
import { idSortKey, queryPage, type Key, type Table } from './table.ts';

const intentKey = (service: string, event: BusEvent): Key => ({ pk: `ANNOUNCE#${service}`, sk: `${String(event.detail.occurredAt)}#${idSortKey(event.detail.eventId)}` });

/** Intents in the table: one partition per service, sorted by the events' time. */
export class DynamoAnnouncementLedger implements AnnouncementLedger {
  constructor(private readonly table: Table) {}

  async intend(service: string, events: BusEvent[]): Promise<void> {
    await batchWrite(this.table, events.map((e) => ({ put: { ...intentKey(service, e), eventJson: JSON.stringify(e) } })));
  }

  async settle(service: string, events: BusEvent[]): Promise<void> {
    await batchWrite(this.table, events.map((e) => ({ delete: intentKey(service, e) })));
  }

  async unsettled(service: string, before: Date, limit: number): Promise<BusEvent[]> {
    const page = await queryPage(this.table, { pkName: 'pk', pk: `ANNOUNCE#${service}`, skBefore: before.toISOString(), limit });
    return page.items.map((item) => JSON.parse(String(item.eventJson)) as BusEvent);
  }
}
