import { createHash } from 'node:crypto';
import { newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import type { CtLogState } from '../../shared/model.ts';
import type { Clock, CtStateStore, EventPublisher } from '../../shared/ports.ts';
import { parseLeaf } from '../../shared/ct/merkle-tree-leaf.ts';
import { parseWatchEntry, watched } from '../../shared/ct/watchlist.ts';
import { certificateNames, tbsNames } from '../../shared/x509/tbs-names.ts';
import { colonHex } from '../../shared/x509/certificate-record.ts';

/** The two calls of a log that polling needs (the RFC 6962 client provides them). */
export interface LogReader {
  getSth(): Promise<{ treeSize: number; rootHash: string }>;
  getEntries(start: number, end: number): Promise<{ leafInput: Uint8Array }[]>;
}

export interface PollDeps {
  clock: Clock;
  ct: CtStateStore;
  publisher: EventPublisher;
  logReader(url: string): LogReader;
  /** Entries asked for per get-entries call, and at most per poll of one log. */
  batchSize: number;
  maxEntriesPerPoll: number;
}

export interface PollResult {
  logUrl: string;
  from: number;
  to: number;
  observed: number;
}

/**
 * Reads a log from its saved position up to its current tree head and reports entries for
 * watched names. Events have ids derived from log and index, so a poll repeated after a crash
 * re-sends the same ids; the position is saved only if no other poller moved it meanwhile.
 */
export async function pollLog(state: CtLogState, deps: PollDeps): Promise<PollResult> {
  const reader = deps.logReader(state.logUrl);
  const sth = await reader.getSth();
  const watchlist = (await deps.ct.getWatchlist()).map((d) => parseWatchEntry(d));
  const end = Math.min(sth.treeSize, state.position + deps.maxEntriesPerPoll);
  const events: BusEvent[] = [];
  let at = state.position;
  while (at < end) {
    const entries = await reader.getEntries(at, Math.min(end, at + deps.batchSize) - 1);
    if (entries.length === 0) break;
    entries.forEach((entry, i) => {
      const event = observation(state.logUrl, at + i, entry.leafInput, watchlist, deps);
      if (event) events.push(event);
    });
    at += entries.length;
  }
  await deps.publisher.publish(events);
  await deps.ct.saveLog({ ...state, position: at, treeSize: sth.treeSize, rootHash: sth.rootHash, updatedAt: deps.clock.now().toISOString() }, state.position);
  return { logUrl: state.logUrl, from: state.position, to: at, observed: events.length };
}

function observation(logUrl: string, index: number, leafInput: Uint8Array, watchlist: ReturnType<typeof parseWatchEntry>[], deps: PollDeps): BusEvent | undefined {
  const leaf = parseLeaf(leafInput);
  const names = leaf.entryType === 'x509' ? certificateNames(leaf.der) : tbsNames(leaf.der);
  if (!names.some((n) => watched(n, watchlist))) return undefined;
  const fingerprint = colonHex(createHash('sha256').update(leaf.der).digest('hex'));
  const id = `ct:${logUrl}:${index}`;
  return newEvent('ct.certificate_observed', { logUrl, index, names, entryType: leaf.entryType, fingerprintSha256: fingerprint }, { now: () => deps.clock.now(), newId: () => id });
}
