import { retryAfterMs } from '../../shared/retry-after.ts';

export interface LogHttpOptions {
  /** Tries per request when the log answers 429 or 5xx. */
  attempts?: number;
  /** Requests started per second at most, across everything this client asks; unlimited if unset. */
  requestsPerSecond?: number;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

/** The longest a log may make one request wait (Retry-After): a log asking for more is left until the next poll. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * GETs from a CT log the way its operator asks monitors to behave: paced to a request rate,
 * backing off on 429 and 5xx (Retry-After when the log gives it, at most a minute, else doubling
 * from 250 ms). Redirects are not followed: a log URL leads only to the log.
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
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000), redirect: 'error' });
      if (res.ok) return res;
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || i + 1 >= this.attempts) throw new Error(`${url} answered ${res.status}`);
      const wait = retryAfterMs(res.headers.get('retry-after'), this.now()) || 250 * 2 ** i;
      if (wait > MAX_RETRY_AFTER_MS) throw new Error(`${url} answered ${res.status} and asks to wait ${Math.round(wait / 1000)} s; tried again at the next poll`);
      await this.sleep(wait);
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
