import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { batchWrite } from './batch.ts';
import type { BusLedger, PendingDelivery } from '../../shared/ports.ts';
import { queryAll, type Table } from './table.ts';

// One partition, read with a query on the table itself: an index entry is written apart from its
// item by the embedded store, so a kill between the two could hide a delivery from an index query.
const key = (sk: string) => ({ pk: 'DELIVERY', sk });
/** Events one item holds at most, in bytes of JSON: DynamoDB items stop at 400 KB. */
const MAX_ITEM_BYTES = 300 * 1024;

/** A rule's place in an event's ledger entry: its tries so far and when the next is due. */
interface Owed {
  attempts: number;
  nextAttemptAt: string;
}

/** What an accepted event is still owed: rule name → that rule's tries. */
interface Owing {
  eventJson: string;
  rules: Record<string, Owed>;
}

/** One ledger item: the events of one PutEvents call (or of a part of one too big for an item), by id. */
interface Group {
  sk: string;
  events: Record<string, Owing>;
}

/** An item of the earliest ledger: one per (event, rule). */
interface PerRuleItem extends PendingDelivery {
  sk: string;
}

/** An item of the ledger before groups: one per event. */
interface PerEventItem extends Owing {
  sk: string;
  eventId: string;
}

/** Deliveries by event. */
function byEvent(deliveries: PendingDelivery[]): Map<string, Owing> {
  const events = new Map<string, Owing>();
  for (const d of deliveries) {
    const owing = events.get(d.eventId) ?? { eventJson: d.eventJson, rules: {} };
    owing.rules[d.rule] = { attempts: d.attempts, nextAttemptAt: d.nextAttemptAt };
    events.set(d.eventId, owing);
  }
  return events;
}

/** Deliveries by event, in groups of at most MAX_ITEM_BYTES, each named by its first event's id. */
function grouped(deliveries: PendingDelivery[]): Group[] {
  const groups: Group[] = [];
  let bytes = Infinity;
  for (const [eventId, owing] of byEvent(deliveries)) {
    // The event's UTF-8 bytes, as DynamoDB counts them, and its rules' tries.
    const size = Buffer.byteLength(owing.eventJson) + 200;
    if (bytes + size > MAX_ITEM_BYTES) groups.push({ sk: eventId, events: {} }), (bytes = 0);
    groups[groups.length - 1].events[eventId] = owing;
    bytes += size;
  }
  return groups;
}

/**
 * The local bus's deliveries in the table: one item per PutEvents call, naming for each of its
 * events the rules whose targets have not yet taken it (with the tries made and when the next is
 * due), from PutEvents until every rule's target took every event of the call or it was
 * dead-lettered; listed in the order they are due.
 *
 * One item per call rather than per event (or per event and rule) makes the ledger's cost a
 * write when a call is accepted and one when its last delivery settles, whatever the number of
 * events and rules. The price is at-least-once in full: settlements are held here in memory and
 * the item deleted when the last one comes, so a process that dies before that delivers the
 * call's events again to the rules that had taken them. Every consumer is idempotent for that
 * reason already (a crash before a settlement was written always could).
 */
export class DynamoBusLedger implements BusLedger {
  /** Per event this process accepted or resumed: the rules still owed. */
  private readonly owed = new Map<string, Set<string>>();
  /** Per event: the item it is in. */
  private readonly itemOf = new Map<string, string>();
  /** Per item: its events still owed something. */
  private readonly left = new Map<string, Set<string>>();

  constructor(private readonly table: Table) {}

  async accept(deliveries: PendingDelivery[]): Promise<void> {
    const groups = grouped(deliveries);
    await batchWrite(this.table, groups.map((g) => ({ put: { ...key(g.sk), events: g.events } })));
    for (const g of groups) this.remember(g);
  }

  async pending(): Promise<PendingDelivery[]> {
    const groups = await this.upgraded((await queryAll(this.table, { pkName: 'pk', pk: 'DELIVERY' })) as unknown as (Group | PerEventItem | PerRuleItem)[]);
    // What this process settled and has not yet written is not owed: memory knows better than the item.
    for (const g of groups) if (!this.left.has(g.sk)) this.remember(g);
    return groups
      .flatMap((g) => Object.entries(g.events).flatMap(([eventId, owing]) => Object.entries(owing.rules)
        .filter(([rule]) => this.owed.get(eventId)?.has(rule))
        .map(([rule, owed]) => ({ rule, eventId, eventJson: owing.eventJson, ...owed }))))
      .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
  }

  /** The rule's next try, in its event's item; an item already gone (every delivery settled) is not brought back. */
  async reschedule(delivery: PendingDelivery): Promise<void> {
    const sk = this.itemOf.get(delivery.eventId);
    if (!sk) return;
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name,
        Key: key(sk),
        UpdateExpression: 'SET #events.#event.#rules.#rule = :owed',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#events': 'events', '#event': delivery.eventId, '#rules': 'rules', '#rule': delivery.rule },
        ExpressionAttributeValues: { ':owed': { attempts: delivery.attempts, nextAttemptAt: delivery.nextAttemptAt } },
      }));
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /**
   * The item goes when the last delivery of its events settles; deletions made while others are
   * being written share a batch (batchWrite's group commit). Settling one already settled changes nothing.
   */
  async settle(eventId: string, rule: string): Promise<void> {
    const rules = this.owed.get(eventId);
    rules?.delete(rule);
    if (!rules || rules.size) return;
    this.owed.delete(eventId);
    const sk = this.itemOf.get(eventId)!;
    this.itemOf.delete(eventId);
    const events = this.left.get(sk)!;
    events.delete(eventId);
    if (events.size) return;
    this.left.delete(sk);
    await batchWrite(this.table, [{ delete: key(sk) }]);
  }

  /**
   * Items earlier versions wrote are read as groups: one per event (keyed by its id) as a group of
   * that event; one per event and rule (keyed `<eventId>#<rule>`) become a group per event, written
   * as such, and the old ones go. A home kept across the upgrade resumes what it owed.
   */
  private async upgraded(items: (Group | PerEventItem | PerRuleItem)[]): Promise<Group[]> {
    const groups = new Map<string, Group>();
    const perEvent: Group[] = [];
    for (const item of items) {
      if ('events' in item) groups.set(item.sk, { sk: item.sk, events: item.events });
      else if ('rules' in item) perEvent.push({ sk: item.sk, events: { [item.eventId]: { eventJson: item.eventJson, rules: item.rules } } });
    }
    for (const g of perEvent) groups.set(g.sk, g);
    const old = items.filter((i): i is PerRuleItem => !('rules' in i) && !('events' in i) && typeof (i as PerRuleItem).rule === 'string');
    if (old.length === 0) {
      // Written again as groups: a retry's tries are kept at a place only a group item has.
      await this.rewritten(perEvent);
      return [...groups.values()];
    }
    // An upgrade that died between its two writes left both: the item already written wins where both name a rule.
    const upgraded = [...byEvent(old)].map(([eventId, owing]) => {
      const current = groups.get(eventId)?.events[eventId];
      return { sk: eventId, events: { [eventId]: { eventJson: owing.eventJson, rules: { ...owing.rules, ...current?.rules } } } };
    });
    for (const g of upgraded) groups.set(g.sk, g);
    await this.rewritten([...perEvent.filter((g) => !upgraded.some((u) => u.sk === g.sk)), ...upgraded]);
    await batchWrite(this.table, old.map((i) => ({ delete: key(i.sk) })));
    return [...groups.values()];
  }

  private async rewritten(groups: Group[]): Promise<void> {
    await batchWrite(this.table, groups.map((g) => ({ put: { ...key(g.sk), events: g.events } })));
  }

  private remember(group: Group): void {
    const events = this.left.get(group.sk) ?? new Set<string>();
    for (const [eventId, owing] of Object.entries(group.events)) {
      const rules = this.owed.get(eventId) ?? new Set<string>();
      for (const rule of Object.keys(owing.rules)) rules.add(rule);
      this.owed.set(eventId, rules);
      this.itemOf.set(eventId, group.sk);
      events.add(eventId);
    }
    this.left.set(group.sk, events);
  }
}
