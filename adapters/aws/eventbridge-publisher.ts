import { EventBridgeClient, PutEventsCommand, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import type { BusEvent } from '../../shared/events/envelope.ts';
import type { EventPublisher } from '../../shared/ports.ts';
import { recordingCalls } from './call-recorder.ts';

/** PutEvents takes at most 10 entries a call. */
const BATCH = 10;

export class EventBridgePublisher implements EventPublisher {
  private readonly client: EventBridgeClient;

  constructor(private readonly busName: string, config: EventBridgeClientConfig = {}) {
    this.client = recordingCalls(new EventBridgeClient(config), 'events');
  }

  async publish(events: BusEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += BATCH) {
      const batch = events.slice(i, i + BATCH);
      const out = await this.client.send(new PutEventsCommand({
        Entries: batch.map((e) => ({ EventBusName: this.busName, Source: e.source, DetailType: e.detailType, Detail: JSON.stringify(e.detail) })),
      }));
      if (out.FailedEntryCount) {
        const failed = (out.Entries ?? []).filter((e) => e.ErrorCode).map((e) => `${e.ErrorCode}: ${e.ErrorMessage}`);
        throw new Error(`PutEvents failed for ${out.FailedEntryCount} of ${batch.length} events: ${failed.join('; ')}`);
      }
    }
  }
}
