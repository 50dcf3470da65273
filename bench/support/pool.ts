/** Runs `count` calls of `one`, `concurrency` at a time, and returns calls per second. */
export async function pool(count: number, concurrency: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await one(next++);
  }));
  return count / ((performance.now() - start) / 1000);
}
