export interface LogHttpOptions {
  /** Tries per request when the log answers 429 or 5xx. */
  attempts?: number;
  /** Requests started per second at most, across everything this client asks; unlimited if unset. */
  requestsPerSecond?: number;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

/**
 * GETs from a CT log the way its operator asks monitors to behave: paced to a request rate,
 * backing off on 429 and 5xx (Retry-After when the log gives it, else doubling from 250 ms).
 */
export class LogHttp {
  private nextSlot = 0;
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: LogHttpOptions = {}) {
    this.attempts = options.attempts ?? 5;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
  }

  async get(url: string): Promise<Response> {
    for (let i = 0; ; i++) {
      await this.pace();
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (res.ok) return res;
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || i + 1 >= this.attempts) throw new Error(`${url} answered ${res.status}`);
      const after = Number(res.headers.get('retry-after'));
      await this.sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 250 * 2 ** i);
    }
  }

  /** Each request takes the next free slot on the rate's grid, so concurrent fetches share the rate. */
  private async pace(): Promise<void> {
    if (!this.options.requestsPerSecond) return;
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.options.requestsPerSecond;
    if (slot > now) await this.sleep(slot - now);
  }
}
