import { randomUUID } from 'node:crypto';
import { ValidationError } from '../shared/errors.ts';
import type { DeadLetter } from '../shared/model.ts';
import type { BusLedger, Clock, DeadLetterStore, PendingDelivery } from '../shared/ports.ts';
import { matches, type Pattern } from './event-pattern.ts';
import type { EntryRefusal } from '../shared/events/inbound.ts';
import { concurrencyLimit } from '../shared/concurrency-limit.ts';

/** A PutEvents entry as the EventBridge API takes it. */
export interface PutEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: string | number;
}

export interface EventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface Rule {
  name: string;
  fn: string;
  pattern: Pattern;
  /**
   * The rule's function takes batches of up to `batchSize` events whole, `concurrency` of them at
   * once, as from its queue's event source (deploy/consumer-queues.js, `consumes.wholeBatch`);
   * other rules' functions get one event an invocation.
   */
  wholeBatch?: boolean;
  batchSize?: number;
  /** How long a whole-batch worker waits for a batch to fill before it takes a short one, as its event source's batching window. */
  batchingWindowMs?: number;
  /** Invocations of the rule's function at once, at most (its queue's event source maximumConcurrency); below the bus's own `concurrency`. */
  concurrency?: number;
}

export interface BusOptions {
  busName: string;
  rules: Rule[];
  /** Hands a batch of events (one, unless the rule takes whole batches) to the rule's function; rejects when it failed them. */
  invoke(fn: string, events: EventBridgeEvent[]): Promise<unknown>;
  deadLetters: DeadLetterStore;
  /** Where accepted events wait until each rule's target took them (so a restart loses none). */
  ledger: BusLedger;
  clock: Clock;
  /** Tries per delivery, and the first retry's delay (doubling each time), as a rule target's RetryPolicy. */
  maxAttempts: number;
  /**
   * Invocations of one function running at once, as a Lambda's reserved concurrency (or an SQS
   * event source's maximum concurrency) caps them on AWS; the rest wait their turn. Unlimited if unset.
   */
  concurrency?: number;
  retryDelayMs: number;
  onError?(rule: string, err: unknown): void;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
  /** Checks a certops event's detail against its schema; a message means the entry is refused (a bug in the producer). */
  validate?(detailType: string, detail: unknown): string | undefined;
}

const ACCOUNT = '000000000000';
const REGION = 'local';

/** A consumer's partial batch response: the events it names failed, the others of its batch were taken. */
export class BatchItemFailures extends Error {
  constructor(fn: string, events: EventBridgeEvent[], readonly failed: ReadonlySet<string>) {
    super(`${fn} reported ${events.filter((e) => failed.has(e.id)).map((e) => `${e.id} (${e['detail-type']})`).join(', ')} failed: its log says why`);
    this.name = 'BatchItemFailures';
  }
}

/**
 * The in-process EventBridge bus: PutEvents-compatible, EventBridge's pattern semantics,
 * asynchronous at-least-once delivery with retries and backoff, then a dead-letter record. Every
 * accepted event is in the ledger (the table) before PutEvents answers and until each matching
 * rule's target took it, so a process that dies delivers it at its next start (resume).
 */
export class LocalBus {
  private readonly inFlight = new Set<Promise<void>>();
  /** Per function: how many of its invocations may run at once. */
  private readonly gates = new Map<string, ReturnType<typeof concurrencyLimit>>();
  /** Per whole-batch rule: the deliveries waiting for a worker, in the order accepted. */
  private readonly queues = new Map<string, PendingDelivery[]>();
  /** Per whole-batch rule: its workers running. */
  private readonly workers = new Map<string, number>();

  constructor(private readonly options: BusOptions) {}

  /**
   * Validates and accepts entries like PutEvents. What it accepts is in the ledger, one delivery
   * per matching rule, before it answers; delivery happens after. `refuse` (for outside callers)
   * says why an entry may not be put: it is failed with that code.
   */
  async putEvents(entries: PutEntry[], refuse?: (entry: PutEntry) => EntryRefusal | undefined): Promise<{ FailedEntryCount: number; Entries: ({ EventId: string } | EntryRefusal)[] }> {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) throw new ValidationError('Entries must hold 1 to 10 entries', 'Entries');
    let failed = 0;
    const accepted: EventBridgeEvent[] = [];
    const results = entries.map((entry) => {
      const refusal = entry && typeof entry === 'object' ? refuse?.(entry) : { ErrorCode: 'MalformedDetail', ErrorMessage: 'an entry must be an object' };
      if (refusal) {
        failed++;
        return refusal;
      }
      try {
        const event = this.toEvent(entry);
        accepted.push(event);
        return { EventId: event.id };
      } catch (err) {
        failed++;
        return { ErrorCode: 'MalformedDetail', ErrorMessage: (err as Error).message };
      }
    });
    const now = this.options.clock.now().toISOString();
    const deliveries = accepted.flatMap((event) => this.options.rules.filter((rule) => matches(rule.pattern, event))
      .map((rule): PendingDelivery => ({ rule: rule.name, eventId: event.id, eventJson: JSON.stringify(event), attempts: 0, nextAttemptAt: now })));
    await this.options.ledger.accept(deliveries);
    if (deliveries.length) this.options.crashPoint?.('bus:after-accept');
    deliveries.forEach((d) => this.run(d));
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Takes up every delivery a previous process accepted and did not finish (at least once: consumers are idempotent). */
  async resume(): Promise<number> {
    const pending = await this.options.ledger.pending();
    pending.forEach((d) => this.run(d));
    return pending.length;
  }

  private toEvent(entry: PutEntry): EventBridgeEvent {
    if (!entry.Source || !entry.DetailType || !entry.Detail) throw new Error('Source, DetailType and Detail are required');
    if (entry.EventBusName && !entry.EventBusName.endsWith(this.options.busName)) throw new Error(`no event bus ${entry.EventBusName} (this is ${this.options.busName})`);
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      throw new Error('Detail is not valid JSON');
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('Detail must be a JSON object');
    const invalid = entry.Source.startsWith('certops.') ? this.options.validate?.(entry.DetailType, detail) : undefined;
    if (invalid) throw new Error(`${entry.DetailType} does not match events/schemas/${entry.DetailType}.json: ${invalid}`);
    const time = entry.Time === undefined ? this.options.clock.now() : new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : entry.Time);
    return {
      version: '0', id: randomUUID(), 'detail-type': entry.DetailType, source: entry.Source, account: ACCOUNT,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'), region: REGION, resources: entry.Resources ?? [], detail: detail as Record<string, unknown>,
    };
  }

  private run(delivery: PendingDelivery): void {
    const rule = this.options.rules.find((r) => r.name === delivery.rule);
    if (rule?.wholeBatch) {
      const queue = this.queues.get(rule.name) ?? [];
      this.queues.set(rule.name, queue);
      queue.push(delivery);
      const running = this.workers.get(rule.name) ?? 0;
      if (running >= (rule.concurrency ?? 1)) return;
      this.workers.set(rule.name, running + 1);
      return this.track(rule.name, this.deliverBatches(rule));
    }
    this.track(delivery.rule, this.deliver(delivery));
  }

  /** A delivery never rejects: whatever a consumer or a store does, the bus (and the process) stays up. */
  private track(rule: string, work: Promise<void>): void {
    const running = work
      .catch((err) => this.options.onError?.(rule, err))
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  /**
   * One of a whole-batch rule's workers: batches of up to `batchSize` of what waits, as its queue's
   * event source takes them, until none wait. A failed batch is tried again by the same worker
   * (backoff, each try counted in the ledger), and after the last try dead-lettered, as the
   * queue's redrive would; the rule's other workers go on meanwhile.
   */
  private async deliverBatches(rule: Rule): Promise<void> {
    const queue = this.queues.get(rule.name)!;
    try {
      while (queue.length) {
        if (queue.length < (rule.batchSize ?? 10) && rule.batchingWindowMs) await new Promise((r) => setTimeout(r, rule.batchingWindowMs));
        let batch = queue.splice(0, rule.batchSize ?? 10);
        while (batch.length) {
          const due = Math.max(...batch.map((d) => Date.parse(d.nextAttemptAt)));
          await new Promise((r) => setTimeout(r, Math.max(0, due - this.options.clock.now().getTime())));
          let events = batch.map((d) => JSON.parse(d.eventJson) as EventBridgeEvent);
          try {
            await this.invokeInTurn(rule.fn, events);
            await Promise.all(batch.map((d) => this.options.ledger.settle(d.eventId, rule.name)));
            batch = [];
          } catch (err) {
            this.options.onError?.(rule.name, err);
            // The events the consumer reported taken leave the queue; the rest are tried again. A
            // response naming an id that is not in the batch fails it whole, as Lambda takes one.
            const ids = new Set(batch.map((d) => d.eventId));
            if (err instanceof BatchItemFailures && [...err.failed].every((id) => ids.has(id))) {
              const failed = err.failed;
              await Promise.all(batch.filter((d) => !failed.has(d.eventId)).map((d) => this.options.ledger.settle(d.eventId, rule.name)));
              batch = batch.filter((d) => failed.has(d.eventId));
              events = events.filter((e) => failed.has(e.id));
            }
            const attempts = Math.max(...batch.map((d) => d.attempts)) + 1;
            if (attempts >= this.options.maxAttempts) {
              for (const event of events) await this.deadLetter(rule, event, err, attempts);
              batch = [];
              continue;
            }
            const next = new Date(this.options.clock.now().getTime() + this.options.retryDelayMs * 2 ** (attempts - 1)).toISOString();
            batch = batch.map((d) => ({ ...d, attempts, nextAttemptAt: next }));
            for (const d of batch) await this.options.ledger.reschedule(d);
          }
        }
      }
    } finally {
      this.workers.set(rule.name, this.workers.get(rule.name)! - 1);
    }
  }

  /**
   * Tries the rule's target until it takes the event, with backoff, each try counted in the
   * ledger; after the last, a dead letter. The delivery leaves the ledger only once settled, so a
   * process that dies on the way delivers it again at its next start.
   */
  private async deliver(delivery: PendingDelivery): Promise<void> {
    const rule = this.options.rules.find((r) => r.name === delivery.rule);
    // A rule that is gone (serverless.yml changed between two starts) is owed nothing.
    if (!rule) return this.options.ledger.settle(delivery.eventId, delivery.rule);
    const event = JSON.parse(delivery.eventJson) as EventBridgeEvent;
    // As on EventBridge, the producer's PutEvents call returns before any consumer runs.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(delivery.nextAttemptAt) - this.options.clock.now().getTime())));
    for (let attempts = delivery.attempts; ; ) {
      try {
        await this.invokeInTurn(rule.fn, [event]);
        return await this.options.ledger.settle(delivery.eventId, rule.name);
      } catch (err) {
        attempts++;
        this.options.onError?.(rule.name, err);
        if (attempts >= this.options.maxAttempts) return this.deadLetter(rule, event, err, attempts);
        const delay = this.options.retryDelayMs * 2 ** (attempts - 1);
        await this.options.ledger.reschedule({ ...delivery, attempts, nextAttemptAt: new Date(this.options.clock.now().getTime() + delay).toISOString() });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Invokes `fn` once fewer than `concurrency` of its invocations run. A burst of events (a CT
   * poll's alerts) then feeds a consumer a few at a time, as on AWS, instead of starting them all
   * at once to contend for the same locks and starve the rest of the process.
   */
  private invokeInTurn(fn: string, events: EventBridgeEvent[]): Promise<unknown> {
    let gate = this.gates.get(fn);
    if (!gate) {
      const own = this.options.rules.find((r) => r.fn === fn && r.concurrency)?.concurrency;
      this.gates.set(fn, (gate = concurrencyLimit(Math.min(own ?? Infinity, this.options.concurrency ?? Infinity))));
    }
    return gate(() => this.options.invoke(fn, events));
  }

  private async deadLetter(rule: Rule, event: EventBridgeEvent, lastError: unknown, attempts: number): Promise<void> {
    const letter: DeadLetter = {
      id: `${rule.name}:${event.id}`,
      rule: rule.name,
      event: { source: event.source, detailType: event['detail-type'], detail: event.detail },
      error: String((lastError as Error)?.message ?? lastError),
      attempts,
      failedAt: this.options.clock.now().toISOString(),
    };
    try {
      await this.options.deadLetters.put(letter);
    } catch (err) {
      // The delivery stays owed: the next start tries it again rather than lose it.
      this.options.onError?.(rule.name, new Error(`the event ${event.id} could not be dead-lettered either: ${(err as Error).message}`));
      return;
    }
    await this.options.ledger.settle(event.id, rule.name);
  }

  /**
   * Sends a dead-lettered event to its rule's target again: owed in the ledger first, then the
   * letter goes; delivered (with retries) after this answers, as SQS's redrive moves messages.
   */
  async replay(letterId: string): Promise<boolean> {
    const letter = (await this.options.deadLetters.list()).find((l) => l.id === letterId);
    const rule = letter && this.options.rules.find((r) => r.name === letter.rule);
    if (!letter || !rule) return false;
    const event = this.toEvent({ Source: letter.event.source, DetailType: letter.event.detailType, Detail: JSON.stringify(letter.event.detail) });
    const delivery: PendingDelivery = { rule: rule.name, eventId: event.id, eventJson: JSON.stringify(event), attempts: 0, nextAttemptAt: this.options.clock.now().toISOString() };
    await this.options.ledger.accept([delivery]);
    await this.options.deadLetters.remove(letter.id);
    this.run(delivery);
    return true;
  }

  /** Resolves when every delivery under way (retries included) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
