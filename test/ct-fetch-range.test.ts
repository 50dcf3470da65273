import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Rfc6962Client } from '../adapters/ct/rfc6962-client.ts';
import type { LogEntry, LogReader } from '../shared/ports.ts';
import { fetchRange } from '../services/ct-monitor/poll-log.ts';

/** A log of `size` entries (each leaf its index) that serves at most `limit` per call and answers later requests sooner. */
function slowFirstLog(size: number, limit: number): LogReader & { calls: [number, number][] } {
  const calls: [number, number][] = [];
  return {
    calls,
    getSth: async () => ({}),
    async getEntries(start, end) {
      calls.push([start, end]);
      await new Promise((r) => setTimeout(r, Math.max(0, 20 - start / 10)));
      return Array.from({ length: Math.min(end, start + limit - 1, size - 1) - start + 1 }, (_, i) => ({ leafInput: Buffer.from(String(start + i)) }));
    },
  };
}

describe('fetching a range of a CT log', () => {
  it('hands every batch over once, in index order, as soon as it and those before it have arrived', async () => {
    const log = slowFirstLog(100, 7);
    const taken: { first: number; entries: LogEntry[] }[] = [];
    await fetchRange(log, 3, 100, 20, 4, (entries, first) => taken.push({ first, entries }));
    expect(taken.map((t) => t.first)).toEqual([3, 23, 43, 63, 83]);
    expect(taken.flatMap((t) => t.entries.map((e) => Number(Buffer.from(e.leafInput).toString())))).toEqual(Array.from({ length: 97 }, (_, i) => i + 3));
    // The log's own limit (7) is honoured by asking for the rest of the batch; nothing past the end is asked for.
    expect(log.calls.every(([, end]) => end < 100)).toBe(true);
  });

  it('stops asking once a batch fails, and says why', async () => {
    const log = slowFirstLog(100, 100);
    const failing: LogReader = { ...log, getEntries: async (start, end) => (start >= 40 ? [] : log.getEntries(start, end)) };
    const taken: number[] = [];
    await expect(fetchRange(failing, 0, 100, 10, 2, (_entries, first) => taken.push(first))).rejects.toThrow('the log returned no entries for 40..49');
    expect(taken.every((first) => first < 40)).toBe(true);
  });
});

describe('reading an RFC 6962 log\'s answers', () => {
  it('reads JSON that is not ASCII as UTF-8', async () => {
    const server = createServer((_req, res) => res.end(JSON.stringify({ tree_size: 1, note: 'Zürich ✓' })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const client = new Rfc6962Client(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      expect(await client.getSth()).toEqual({ tree_size: 1, note: 'Zürich ✓' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
