import type { LogEntry, LogReader } from '../../shared/ports.ts';
import { concurrencyLimit } from '../../shared/concurrency-limit.ts';

export interface ReadAhead {
  /** The log's reader, taking get-entries answers from what was read ahead when it has them. */
  reader: LogReader;
  /**
   * Starts the get-entries calls a pass over entries from..to-1 will make (fetchRange's batch
   * boundaries, `concurrency` calls in flight at most), dropping whatever an earlier call started
   * and no pass took. Returns at once.
   */
  ahead(from: number, to: number): void;
}

/**
 * A reader that lets a unit of work fetch its next pass while the current one publishes its alerts
 * and stores its findings (which take as long as the fetch when many entries match), instead of
 * after. Nothing read ahead is trusted more than before: the next pass hashes and verifies it as if
 * it had just asked. At most one pass is held ahead, so a unit's memory stays bounded.
 */
export function readingAhead(reader: LogReader, batchSize: number, concurrency: number): ReadAhead {
  let answers = new Map<string, Promise<LogEntry[]>>();
  const call = (start: number, end: number) => `${start}-${end}`;
  return {
    reader: {
      getSth: () => reader.getSth(),
      getEntries(start, end) {
        const key = call(start, end);
        const early = answers.get(key);
        answers.delete(key);
        // A call read ahead that failed is made again now, when the pass needs it.
        return early ? early.catch(() => reader.getEntries(start, end)) : reader.getEntries(start, end);
      },
      // The optional calls stay optional: a pass asks whether the log offers them.
      ...(reader.getIssuer ? { getIssuer: reader.getIssuer.bind(reader) } : {}),
      ...(reader.getConsistency ? { getConsistency: reader.getConsistency.bind(reader) } : {}),
      ...(reader.getProofByHash ? { getProofByHash: reader.getProofByHash.bind(reader) } : {}),
      ...(reader.tileHashes ? { tileHashes: reader.tileHashes.bind(reader) } : {}),
    },
    ahead(from, to) {
      answers = new Map();
      const gate = concurrencyLimit(concurrency);
      for (let at = from; at < to; at += batchSize) {
        const end = Math.min(to, at + batchSize) - 1;
        const answer = gate(() => reader.getEntries(at, end));
        // A failure is the next pass's to meet (it asks again); none is left unhandled meanwhile.
        answer.catch(() => undefined);
        answers.set(call(at, end), answer);
      }
    },
  };
}
