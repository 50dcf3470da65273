/** The longest wait a Retry-After is read as: RFC 9110 sets no bound on delay-seconds, and a time past this is no time a Date can hold for long (callers bound their waits lower still). */
const MAX_RETRY_AFTER_MS = 365 * 86_400_000;

/**
 * How long a Retry-After header asks to wait, in milliseconds, in either of its forms (RFC 9110
 * 10.2.3): delay-seconds, or an HTTP-date (a date in the past asks for no wait); at most a year.
 * Undefined when the header is absent or is neither form.
 * @param now the current time, in milliseconds since the epoch.
 */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date starts with the day's name (IMF-fixdate, and the obsolete RFC 850 and asctime
  // forms); without this, Date.parse would read "-5" as a year.
  const at = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}
