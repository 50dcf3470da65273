import { describe, expect, it } from 'vitest';
import { concurrencyLimit } from '../shared/concurrency-limit.ts';

describe('a concurrency limit', () => {
  it('runs at most its limit at once, the rest in the order they came, a newcomer never ahead of those waiting', async () => {
    const gate = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const job = (i: number) => gate(async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 0) void late.push(gate(async () => (started.push(99), 99)));
      return i;
    });
    const late: Promise<number>[] = [];
    expect(await Promise.all([0, 1, 2, 3, 4].map(job))).toEqual([0, 1, 2, 3, 4]);
    await Promise.all(late);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 99]);
  });

  it('lets the next one go when a call fails', async () => {
    const gate = concurrencyLimit(1);
    const failing = gate(async () => { throw new Error('no'); });
    const next = gate(async () => 'yes');
    await expect(failing).rejects.toThrow('no');
    await expect(next).resolves.toBe('yes');
  });
});
