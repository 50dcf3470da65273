import { EventBridgeClient, PutEventsCommand, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import type { BusEvent } from '../../shared/events/envelope.ts';
import type { EventPublisher } from '../../shared/ports.ts';
import { recordingCalls } from './call-recorder.ts';
import { concurrencyLimit } from '../../shared/concurrency-limit.ts';

/** PutEvents takes at most 10 entries a call. */
const BATCH = 10;
/** PutEvents calls in flight at once for one publish: a CT pass's hundreds of alerts go out in a fraction of the time one call after another takes. */
const IN_FLIGHT = 8;

export class EventBridgePublisher implements EventPublisher {
  private readonly client: EventBridgeClient;

  constructor(private readonly busName: string, config: EventBridgeClientConfig = {}) {
    // Each command's middleware resolved once, not on every call (a fair share of a call's CPU).
    this.client = recordingCalls(new EventBridgeClient({ cacheMiddleware: true, ...config }), 'events');
  }

  /** Puts every event (10 a call, calls in parallel); throws naming the entries the bus failed once every call has answered. */
  async publish(events: BusEvent[]): Promise<void> {
    const gate = concurrencyLimit(IN_FLIGHT);
    const calls = [];
    for (let i = 0; i < events.length; i += BATCH) calls.push(gate(() => this.put(events.slice(i, i + BATCH))));
    const failed = (await Promise.allSettled(calls)).filter((r) => r.status === 'rejected');
    if (failed.length) throw failed[0].reason;
  }

  private async put(batch: BusEvent[]): Promise<void> {
    const out = await this.client.send(new PutEventsCommand({
      Entries: batch.map((e) => ({ EventBusName: this.busName, Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })),
    }));
    if (out.FailedEntryCount) {
      const failed = (out.Entries ?? []).filter((e) => e.ErrorCode).map((e) => `${e.ErrorCode}: ${e.ErrorMessage}`);
      throw new Error(`PutEvents failed for ${out.FailedEntryCount} of ${batch.length} events: ${failed.join('; ')}`);
    }
  }
}
