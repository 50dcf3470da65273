import type { BusEvent } from './events/envelope.ts';
import type { AnnouncementLedger, Clock, EventPublisher } from './ports.ts';

/** Intents older than this belong to a dead invocation: Lambda stops every invocation within 15 minutes. */
const INTENT_GRACE_MS = 15 * 60_000;

export interface AnnounceDeps {
  announcements: AnnouncementLedger;
  publisher: EventPublisher;
  /** Test builds: stops the process at `announce:<detail-type>`, between a change and its announcement. */
  crashPoint?(point: string): void;
}

/**
 * Makes a state change and announces it, with the announcement recorded first: a process killed
 * after the change and before the publish leaves the intent, which recovery announces (see
 * recoverAnnouncements). The events carry their final ids and times, and the change must record
 * what its proof checks (often that time). `change` answers false when it did not happen (a
 * conditional write lost): nothing is announced. When it throws, whether it happened is unknown,
 * and the intent is left for recovery to decide.
 * @returns what `change` returned.
 */
export async function announceAfter<T>(service: string, events: BusEvent[], change: () => Promise<T>, deps: AnnounceDeps): Promise<T> {
  if (events.length === 0) return change();
  await deps.announcements.intend(service, events);
  const result = await change();
  if (result !== false) {
    for (const e of events) deps.crashPoint?.(`announce:${e.detailType}`);
    await deps.publisher.publish(events);
  }
  await deps.announcements.settle(service, events);
  return result;
}

/**
 * For each detail type a service announces after a change: whether the change an intent
 * announces is in the store (or, for work that must finish, has now been finished).
 */
export type Proofs<D> = Record<string, (event: BusEvent, deps: D) => Promise<boolean>>;

/**
 * Announces what a killed process changed and did not announce, and drops the intents of changes
 * that never happened. `before`: only intents dated earlier are taken (locally, the start of this
 * process: every older intent is a dead process's; on AWS, older than any live invocation). An
 * intent whose proof fails (a CA that is down), or that no proof knows, is kept for the next run,
 * and named in `waiting` with why.
 */
export async function recoverAnnouncements<D extends AnnounceDeps>(service: string, proofs: Proofs<D>, before: Date, deps: D): Promise<{ announced: string[]; dropped: string[]; waiting: string[] }> {
  const out = { announced: [] as string[], dropped: [] as string[], waiting: [] as string[] };
  const seen = new Set<string>();
  for (;;) {
    const intents = (await deps.announcements.unsettled(service, before, seen.size + 100)).filter((e) => !seen.has(e.detail.eventId));
    if (intents.length === 0) return out;
    for (const event of intents) {
      const id = event.detail.eventId;
      seen.add(id);
      const proof = Object.hasOwn(proofs, event.detailType) ? proofs[event.detailType] : undefined;
      try {
        if (!proof) throw new Error(`no proof for ${event.detailType}`);
        if (await proof(event, deps)) {
          await deps.publisher.publish([event]);
          out.announced.push(id);
        } else {
          out.dropped.push(id);
        }
        await deps.announcements.settle(service, [event]);
      } catch (err) {
        out.waiting.push(`${id}: ${(err as Error).message}`);
      }
    }
  }
}

/** Scheduled: recoverAnnouncements for the intents no live invocation can still be making. */
export function recoverStaleAnnouncements<D extends AnnounceDeps & { clock: Clock }>(service: string, proofs: Proofs<D>, deps: D) {
  return recoverAnnouncements(service, proofs, new Date(deps.clock.now().getTime() - INTENT_GRACE_MS), deps);
}
