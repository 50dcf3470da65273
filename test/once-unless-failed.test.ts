import { describe, expect, it } from 'vitest';
import { onceUnlessFailed } from '../shared/once-unless-failed.ts';

describe('onceUnlessFailed (the lazy loads of acme-client, the saga runner and an ACME account)', () => {
  it('runs the load once for every caller while it is pending and after it succeeded', async () => {
    let runs = 0;
    const load = onceUnlessFailed(async () => ++runs);
    expect(await Promise.all([load(), load()])).toEqual([1, 1]);
    expect(await load()).toBe(1);
    expect(runs).toBe(1);
  });

  it('runs a load that failed again for the next caller, not remembering the failure', async () => {
    let runs = 0;
    const load = onceUnlessFailed(async () => {
      if (++runs === 1) throw new Error('the module could not be read');
      return runs;
    });
    await expect(load()).rejects.toThrow(/could not be read/);
    expect(await load()).toBe(2);
    expect(await load()).toBe(2);
  });
});
