import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchWrite } from './batch.ts';
import type { BusLedger, PendingDelivery } from '../../shared/ports.ts';
import { queryAll, type Table } from './table.ts';

// One partition, read with a query on the table itself: an index entry is written apart from its
// item by the embedded store, so a kill between the two could hide a delivery from an index query.
const key = (eventId: string) => ({ pk: 'DELIVERY', sk: eventId });

/** A rule's place in an event's ledger item: its tries so far and when the next is due. */
interface Owed {
  attempts: number;
  nextAttemptAt: string;
}

/** An item of the earlier ledger: one per (event, rule). */
interface PerRuleItem extends PendingDelivery {
  sk: string;
}

interface LedgerItem {
  eventId: string;
  eventJson: string;
  /** Rule name → what that rule is still owed. */
  rules: Record<string, Owed>;
}

/** Deliveries as ledger items: one per event, naming each rule it is owed to. */
function byEvent(deliveries: PendingDelivery[]): Map<string, LedgerItem> {
  const items = new Map<string, LedgerItem>();
  for (const d of deliveries) {
    const item = items.get(d.eventId) ?? { eventId: d.eventId, eventJson: d.eventJson, rules: {} };
    item.rules[d.rule] = { attempts: d.attempts, nextAttemptAt: d.nextAttemptAt };
    items.set(d.eventId, item);
  }
  return items;
}

/**
 * The local bus's deliveries in the table: one item per accepted event, naming each rule its
 * target has not yet taken (with the tries made and when the next is due), from PutEvents until
 * every rule's target took it or it was dead-lettered; listed in the order they are due.
 *
 * One item per event rather than per (event, rule) halves the writes each event costs (an event
 * usually matches two or three rules). The price is at-least-once in full: a rule's settlement is
 * held here in memory and the item deleted when the event's last rule settles, so a process that
 * dies between two settlements delivers the event again to the rules that had taken it. Every
 * consumer is idempotent for that reason already (a crash before a settlement was written always
 * could).
 */
export class DynamoBusLedger implements BusLedger {
  /** Per event this process accepted or resumed: the rules still owed. */
  private readonly owed = new Map<string, Set<string>>();

  constructor(private readonly table: Table) {}

  async accept(deliveries: PendingDelivery[]): Promise<void> {
    const items = byEvent(deliveries);
    await batchWrite(this.table, [...items.values()].map((item) => ({ put: { ...item, ...key(item.eventId) } })));
    for (const item of items.values()) this.remember(item);
  }

  async pending(): Promise<PendingDelivery[]> {
    const items = await this.upgraded((await queryAll(this.table, { pkName: 'pk', pk: 'DELIVERY' })) as unknown as (LedgerItem | PerRuleItem)[]);
    // What this process settled and has not yet written is not owed: memory knows better than the item.
    for (const item of items) if (!this.owed.has(item.eventId)) this.remember(item);
    return items
      .flatMap((item) => Object.entries(item.rules).filter(([rule]) => this.owed.get(item.eventId)!.has(rule)).map(([rule, owed]) => ({ rule, eventId: item.eventId, eventJson: item.eventJson, ...owed })))
      .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
  }

  /** The rule's next try, in its event's item; an event already settled (its item gone) is not brought back. */
  async reschedule(delivery: PendingDelivery): Promise<void> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name,
        Key: key(delivery.eventId),
        UpdateExpression: 'SET #rules.#rule = :owed',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#rules': 'rules', '#rule': delivery.rule },
        ExpressionAttributeValues: { ':owed': { attempts: delivery.attempts, nextAttemptAt: delivery.nextAttemptAt } },
      }));
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /**
   * The item goes when the event's last owed rule settles; deletions made while others are being
   * written share a batch (batchWrite's group commit). Settling one already settled changes nothing.
   */
  async settle(eventId: string, rule: string): Promise<void> {
    const rules = this.owed.get(eventId);
    rules?.delete(rule);
    if (rules?.size) return;
    this.owed.delete(eventId);
    await batchWrite(this.table, [{ delete: key(eventId) }]);
  }

  /**
   * Items an earlier version wrote (one per event and rule, keyed `<eventId>#<rule>`) become one
   * item per event, as this version writes them, and the old ones go: a home kept across the
   * upgrade resumes what it owed.
   */
  private async upgraded(items: (LedgerItem | PerRuleItem)[]): Promise<LedgerItem[]> {
    const old = items.filter((i): i is PerRuleItem => !('rules' in i) && typeof (i as PerRuleItem).rule === 'string');
    if (old.length === 0) return items as LedgerItem[];
    // An upgrade that died between its two writes left both: the item already written wins where both name a rule.
    const current = new Map(items.filter((i): i is LedgerItem => 'rules' in i).map((i) => [i.eventId, i]));
    for (const item of byEvent(old).values()) current.set(item.eventId, { ...item, rules: { ...item.rules, ...current.get(item.eventId)?.rules } });
    await batchWrite(this.table, [...current.values()].map((item) => ({ put: { ...item, ...key(item.eventId) } })));
    await batchWrite(this.table, old.map((i) => ({ delete: { pk: 'DELIVERY', sk: i.sk } })));
    return [...current.values()];
  }

  private remember(item: LedgerItem): void {
    const rules = this.owed.get(item.eventId) ?? new Set<string>();
    for (const rule of Object.keys(item.rules)) rules.add(rule);
    this.owed.set(item.eventId, rules);
  }
}
