/**
 * Group commit: items submitted while a batch is being written wait, and go together in the next
 * batch (at most `max`), so one writer takes a burst in a few large writes instead of many small
 * ones, and a lone item goes at once. A batch that fails fails each of its items' promises.
 * @param write takes a batch and answers one result per item, in the same order.
 */
export function groupCommit<T, R>(write: (items: T[]) => Promise<R[]>, max: number): (item: T) => Promise<R> {
  const waiting: { item: T; resolve(r: R): void; reject(err: unknown): void }[] = [];
  let writing = false;
  async function drain(): Promise<void> {
    writing = true;
    while (waiting.length) {
      const batch = waiting.splice(0, max);
      try {
        const results = await write(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]));
      } catch (err) {
        batch.forEach((w) => w.reject(err));
      }
    }
    writing = false;
  }
  return (item) => new Promise<R>((resolve, reject) => {
    waiting.push({ item, resolve, reject });
    if (!writing) void drain();
  });
}
