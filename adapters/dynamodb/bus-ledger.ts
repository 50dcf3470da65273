import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite } from './batch.ts';
import type { BusLedger, PendingDelivery } from '../../shared/ports.ts';
import { queryAll, withoutKeys, type Table } from './table.ts';

// One partition, read with a query on the table itself: an index entry is written apart from its
// item by the embedded store, so a kill between the two could hide a delivery from an index query.
const key = (eventId: string, rule: string) => ({ pk: 'DELIVERY', sk: `${eventId}#${rule}` });
const item = (d: PendingDelivery) => ({ ...d, ...key(d.eventId, d.rule) });

/**
 * The local bus's deliveries in the table: one item per (event, rule) from the moment PutEvents
 * accepts the event until the rule's target took it or it was dead-lettered, listed in the order
 * they are due.
 */
export class DynamoBusLedger implements BusLedger {
  constructor(private readonly table: Table) {}

  async accept(deliveries: PendingDelivery[]): Promise<void> {
    await batchWrite(this.table, deliveries.map((d) => ({ put: item(d) })));
  }

  async pending(): Promise<PendingDelivery[]> {
    return (await queryAll(this.table, { pkName: 'pk', pk: 'DELIVERY' })).map((i) => withoutKeys<PendingDelivery>(i)).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
  }

  async reschedule(delivery: PendingDelivery): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: item(delivery) }));
  }

  /**
   * Settlements made while others are being written go in the same batch (batchWrite's group
   * commit). One not yet written when the process dies is a delivery made again after the
   * restart: at least once, as ever.
   */
  settle(eventId: string, rule: string): Promise<void> {
    return batchWrite(this.table, [{ delete: key(eventId, rule) }]);
  }
}
