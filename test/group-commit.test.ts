import { describe, expect, it } from 'vitest';
import { groupCommit } from '../shared/group-commit.ts';

describe('group commit', () => {
  it('sends a lone item at once and what arrives meanwhile together, at most max per batch', async () => {
    const batches: number[][] = [];
    const submit = groupCommit(async (items: number[]) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 10));
      return items.map((i) => i * 2);
    }, 4);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    expect(batches).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    expect(await submit(42)).toBe(84);
  });

  it('fails only the items of a batch that failed, and goes on with the next', async () => {
    const submit = groupCommit(async (items: string[]) => {
      await new Promise((r) => setTimeout(r, 5));
      if (items.includes('bad')) throw new Error('write failed');
      return items;
    }, 10);
    const first = submit('first');
    const [bad, sameBatch] = [submit('bad'), submit('with-bad')];
    await expect(first).resolves.toBe('first');
    await expect(bad).rejects.toThrow('write failed');
    await expect(sameBatch).rejects.toThrow('write failed');
    await expect(submit('after')).resolves.toBe('after');
  });
});
