import { RetryLaterError, UpstreamError } from '../../shared/errors.ts';
import { retryAfterMs } from '../../shared/retry-after.ts';

export interface LogHttpOptions {
  /** Tries per request when the log answers 429 or 5xx. */
  attempts?: number;
  /** Requests started per second at most, across everything this client asks; unlimited if unset. */
  requestsPerSecond?: number;
  /** Epoch milliseconds no wait may run past (the poll's deadline): a log that asks for longer is left to a later poll. */
  deadline?: number;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

/** The longest a log may make one request wait (Retry-After): a log asking for more is left until the next poll. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * GETs from a CT log the way its operator asks monitors to behave: paced to a request rate,
 * backing off on 429 and 5xx (Retry-After when the log gives it, else doubling from 250 ms). A
 * wait longer than a minute or past the deadline is not waited: the request fails with a
 * RetryLaterError carrying the time the log asked for, which the poll records as the log's
 * back-off. Redirects are not followed: a log URL leads only to the log.
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
      await this.sleep(this.waitBeforeRetry(url, res, i));
    }
  }

  /**
   * How long to wait before asking `url` again after its answer `res` to try `i` (from 0). Throws
   * when it is not asked again now: an UpstreamError for an answer that is final, a
   * RetryLaterError (with the time the log asked for) when it is out of tries or the wait is too
   * long or would pass the deadline.
   */
  private waitBeforeRetry(url: string, res: Response, i: number): number {
    if (res.status !== 429 && res.status < 500) throw new UpstreamError(`${url} answered ${res.status}`, url);
    // One reading of the clock: an HTTP-date's time is kept to the millisecond.
    const now = this.now();
    const asked = retryAfterMs(res.headers.get('retry-after'), now);
    const retryAt = asked === undefined ? undefined : new Date(now + asked);
    if (i + 1 >= this.attempts) throw new RetryLaterError(`${url} answered ${res.status}`, url, retryAt);
    const wait = asked || 250 * 2 ** i;
    if (wait <= MAX_RETRY_AFTER_MS && now + wait <= (this.options.deadline ?? Infinity)) return wait;
    const asks = asked ? ` and asks to wait ${Math.round(asked / 1000)} s` : '';
    throw new RetryLaterError(`${url} answered ${res.status}${asks}; left to a later poll`, url, retryAt);
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
