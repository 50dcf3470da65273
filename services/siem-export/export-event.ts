import type { BusEvent } from '../../shared/events/envelope.ts';
import type { ProcessedEvents } from '../../shared/ports.ts';
import { seedRecord } from './seed-format.ts';

export interface ExportDeps {
  processed: ProcessedEvents;
  sink: { write(records: Record<string, unknown>[]): Promise<void> };
}

/** Writes the event to the sink once: a replay (same eventId) is dropped. A crash between write and remember may repeat a line, which the eventId lets the SIEM drop. */
export async function exportEvent(event: BusEvent, deps: ExportDeps): Promise<boolean> {
  const id = String(event.detail.eventId);
  if (await deps.processed.seen('siem-export', id)) return false;
  await deps.sink.write([seedRecord(event)]);
  await deps.processed.remember('siem-export', id);
  return true;
}
