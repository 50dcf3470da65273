import { parseLeaf } from '../../shared/ct/merkle-tree-leaf.ts';
import type { LogReader } from '../../shared/ports.ts';

/**
 * The first entry a log timestamped at or after `atMs`, by binary search over get-entries (about
 * log2(treeSize) single-entry requests). Logs add entries in roughly timestamp order, so the
 * answer is the boundary to within the log's merge delay: a monitor starting there misses nothing
 * issued after the date.
 */
export async function firstEntryAt(reader: LogReader, treeSize: number, atMs: number): Promise<number> {
  let lo = 0;
  let hi = treeSize;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [entry] = await reader.getEntries(mid, mid);
    if (!entry) throw new Error(`the log returned no entry ${mid}`);
    if (parseLeaf(entry.leafInput).timestampMs < atMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
