/**
 * A gate that lets at most `limit` of the calls made through it run at once; the rest wait their
 * turn, first come first served. A finishing call hands its place to the next waiting one, so a
 * newcomer never slips in ahead of those waiting.
 */
export function concurrencyLimit(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
