import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { newEvent } from '../shared/events/envelope.ts';
import { eventually } from './support/processes.ts';

const BURST = 10_000;

/**
 * The audit trail's writers (siemExportEvents, `consumes.wholeBatch`: batches of up to 1,000 from
 * its queue, two writers at most, each batch one commit) take a burst: every event once in the
 * trail, the hash chain whole, every event in the SIEM file once.
 */
describe('an audit trail that takes bursts', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-burst-'));
  let stack: LocalStack;
  let token: string;
  const api = async (path: string) => (await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();

  beforeAll(async () => {
    stack = await startLocalStack({ ...process.env, CERTOPS_HOME: home, PORT: '0' });
    token = readFileSync(stack.tokenFile, 'utf8').trim();
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it(`appends a burst of ${BURST.toLocaleString('en')} events, none missing, none twice, and the chain verifies`, async () => {
    const before = (await api('/audit/verify')).records as number;
    let n = 0;
    const ids = new Set<string>();
    // Put as producers do, ten entries a call, many calls at once.
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (n < BURST) {
        const entries = Array.from({ length: Math.min(10, BURST - n) }, () => {
          const event = newEvent('ct.watchlist_changed', { changedBy: 'burst', added: [`d${n++}.example.com`], removed: [] }, { now: () => new Date(), newId: () => crypto.randomUUID() });
          ids.add(String(event.detail.eventId));
          return { Source: event.source, DetailType: event.detailType, Detail: JSON.stringify(event.detail), EventBusName: 'certops-local' };
        });
        const answer = await stack.bus.putEvents(entries);
        expect(answer.FailedEntryCount).toBe(0);
      }
    }));
    // Waiting on the SIEM file, which the writer appends to after the trail (a verification walks the whole trail: once, at the end).
    const burstLines = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"burst"'));
    await eventually(async () => burstLines().length >= BURST, 'the burst in the SIEM file', 240_000, 500);
    expect(burstLines()).toHaveLength(BURST);
    // The suite's own events (its first start's) may land beside the burst: at least the burst more, and whole.
    const verified = await api('/audit/verify');
    expect(verified.valid).toBe(true);
    expect(verified.records).toBeGreaterThanOrEqual(before + BURST);
    const trail: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await api(`/events?type=ct.watchlist_changed&limit=1000${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
      trail.push(...page.items.map((r: { eventId: string }) => r.eventId));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(trail).toHaveLength(BURST);
    expect(new Set(trail)).toEqual(ids);
  }, 300_000);
});
