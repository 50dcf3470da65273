import { describe, expect, it } from 'vitest';
import { expiryBand, timeLeft } from '../shared/expiry-bands.ts';

const DAY = 86_400_000;
const start = Date.parse('2026-01-01T00:00:00Z');
const iso = (days: number) => new Date(start + days * DAY).toISOString();
/** The band of a certificate living `lifetime` days, `elapsed` days into its life. */
const band = (lifetime: number, elapsed: number) => expiryBand(iso(0), iso(lifetime), new Date(start + elapsed * DAY));

describe('expiry bands', () => {
  it('enters 30, 14, 7 and 1 days before the end of a life of 90 days or more', () => {
    expect([band(365, 334), band(365, 336), band(365, 352), band(365, 359), band(365, 364.5)]).toEqual([undefined, 30, 14, 7, 1]);
    expect([band(90, 59), band(90, 61)]).toEqual([undefined, 30]);
  });

  it('scales them down in proportion for shorter lives, the first at the last third (where the default renewal window opens)', () => {
    // 30 days: bands at 10, 4.67, 2.33 and 0.33 days before the end.
    expect([band(30, 0), band(30, 19.9), band(30, 20.1), band(30, 25.5), band(30, 27.8), band(30, 29.7)]).toEqual([undefined, undefined, 30, 14, 7, 1]);
    // 6 days (a short-lived ACME profile): nothing on its first four days.
    expect([band(6, 0), band(6, 3.9), band(6, 4.1), band(6, 5.95)]).toEqual([undefined, undefined, 30, 1]);
  });

  it('has no band once expired, nor for a validity that ends before it starts', () => {
    expect(band(90, 90)).toBeUndefined();
    expect(band(90, 95)).toBeUndefined();
    expect(expiryBand(iso(10), iso(5), new Date(start + 4 * DAY))).toBeUndefined();
  });

  it('reads time left as a person does', () => {
    expect([timeLeft(9.6 * DAY), timeLeft(2 * DAY), timeLeft(1.9 * DAY), timeLeft(0.5 * DAY), timeLeft(1.5 * 3_600_000), timeLeft(600_000)]).toEqual(['9 days', '2 days', '1 day', '12 hours', '1 hour', 'less than an hour']);
  });
});
