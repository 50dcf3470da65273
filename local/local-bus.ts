import { randomUUID } from 'node:crypto';
import { ValidationError } from '../shared/errors.ts';
import type { DeadLetter } from '../shared/model.ts';
import type { Clock, DeadLetterStore } from '../shared/ports.ts';
import { matches, type Pattern } from './event-pattern.ts';
import type { EntryRefusal } from '../shared/events/inbound.ts';

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
}

export interface BusOptions {
  busName: string;
  rules: Rule[];
  invoke(fn: string, event: EventBridgeEvent): Promise<unknown>;
  deadLetters: DeadLetterStore;
  clock: Clock;
  /** Tries per delivery, and the first retry's delay (doubling each time), as a rule target's RetryPolicy. */
  maxAttempts: number;
  retryDelayMs: number;
  onError?(rule: string, err: unknown): void;
  /** Checks a certops event's detail against its schema; a message means the entry is refused (a bug in the producer). */
  validate?(detailType: string, detail: unknown): string | undefined;
}

const ACCOUNT = '000000000000';
const REGION = 'local';

/**
 * The in-process EventBridge bus: PutEvents-compatible, EventBridge's pattern semantics,
 * asynchronous at-least-once delivery with retries and backoff, then a dead-letter record.
 */
export class LocalBus {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: BusOptions) {}

  /**
   * Validates and accepts entries like PutEvents; delivery happens after it returns. `refuse`
   * (for outside callers) says why an entry may not be put: it is failed with that code.
   */
  putEvents(entries: PutEntry[], refuse?: (entry: PutEntry) => EntryRefusal | undefined): { FailedEntryCount: number; Entries: ({ EventId: string } | EntryRefusal)[] } {
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > 10) throw new ValidationError('Entries must hold 1 to 10 entries', 'Entries');
    let failed = 0;
    const results = entries.map((entry) => {
      const refusal = entry && typeof entry === 'object' ? refuse?.(entry) : { ErrorCode: 'MalformedDetail', ErrorMessage: 'an entry must be an object' };
      if (refusal) {
        failed++;
        return refusal;
      }
      try {
        const event = this.toEvent(entry);
        this.dispatch(event);
        return { EventId: event.id };
      } catch (err) {
        failed++;
        return { ErrorCode: 'MalformedDetail', ErrorMessage: (err as Error).message };
      }
    });
    return { FailedEntryCount: failed, Entries: results };
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

  private dispatch(event: EventBridgeEvent): void {
    for (const rule of this.options.rules) {
      if (!matches(rule.pattern, event)) continue;
      // A delivery never rejects: whatever a consumer or the dead-letter store does, the bus (and the process) stays up.
      const delivery = this.deliver(rule, event)
        .catch((err) => this.options.onError?.(rule.name, err))
        .finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  }

  private async deliver(rule: Rule, event: EventBridgeEvent, attempts = this.options.maxAttempts): Promise<void> {
    // As on EventBridge, the producer's PutEvents call returns before any consumer runs.
    await new Promise((r) => setImmediate(r));
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.options.invoke(rule.fn, event);
        return;
      } catch (err) {
        lastError = err;
        this.options.onError?.(rule.name, err);
        if (attempt < attempts) await new Promise((r) => setTimeout(r, this.options.retryDelayMs * 2 ** (attempt - 1)));
      }
    }
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
      this.options.onError?.(rule.name, new Error(`the event ${event.id} could not be dead-lettered either: ${(err as Error).message}`));
    }
  }

  /** Sends a dead-lettered event to its rule's target again; the letter goes away once it is delivered. */
  async replay(letterId: string): Promise<boolean> {
    const letter = (await this.options.deadLetters.list()).find((l) => l.id === letterId);
    const rule = letter && this.options.rules.find((r) => r.name === letter.rule);
    if (!letter || !rule) return false;
    const event = this.toEvent({ Source: letter.event.source, DetailType: letter.event.detailType, Detail: JSON.stringify(letter.event.detail) });
    await this.options.deadLetters.remove(letter.id);
    await this.deliver(rule, event);
    return true;
  }

  /** Resolves when every delivery under way (retries included) has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
