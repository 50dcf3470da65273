import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogHttp } from '../../adapters/ct/log-http.ts';
import { RetryLaterError } from '../../shared/errors.ts';
import { retryAfterMs } from '../../shared/retry-after.ts';

describe('asking a CT log politely', () => {
  let server: Server;
  let url: string;
  const answers: { status: number; headers?: Record<string, string> }[] = [];
  let served = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      served++;
      const next = answers.shift() ?? { status: 200 };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ct/v1/get-sth`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('waits as Retry-After says on 429, doubles from 250 ms on 5xx, and gives up after its attempts', async () => {
    const waits: number[] = [];
    const http = new LogHttp({ attempts: 4, sleep: async (ms) => void waits.push(ms) });
    answers.push({ status: 429, headers: { 'retry-after': '2' } }, { status: 503 }, { status: 502 });
    served = 0;
    expect((await http.get(url)).status).toBe(200);
    expect(served).toBe(4);
    expect(waits).toEqual([2000, 500, 1000]);
    answers.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    await expect(http.get(url)).rejects.toThrow(/answered 500/);
    answers.push({ status: 404 });
    waits.length = 0;
    await expect(http.get(url)).rejects.toThrow(/answered 404/);
    expect(waits).toEqual([]);
  });

  it('reads Retry-After as an HTTP-date too (RFC 9110 10.2.3), and leaves a log that asks for more than a minute to the next poll', async () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const waits: number[] = [];
    const http = new LogHttp({ attempts: 3, now: () => now, sleep: async (ms) => void waits.push(ms) });
    answers.push({ status: 503, headers: { 'retry-after': 'Mon, 30 Nov 2026 12:00:07 GMT' } });
    expect((await http.get(url)).status).toBe(200);
    expect(waits).toEqual([7000]);
    answers.push({ status: 429, headers: { 'retry-after': 'Mon, 30 Nov 2026 12:05:00 GMT' } });
    await expect(http.get(url)).rejects.toThrow(/asks to wait 300 s/);
    answers.push({ status: 429, headers: { 'retry-after': '3600' } });
    await expect(http.get(url)).rejects.toThrow(/asks to wait 3600 s/);
  });

  it('waits for nothing past its deadline: the error carries the time the log asked for, in either form (RFC 9110 10.2.3)', async () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const waits: number[] = [];
    const http = new LogHttp({ deadline: now + 15_000, now: () => now, sleep: async (ms) => void waits.push(ms) });
    const refusal = (status: number, retryAfter: string) => {
      answers.push({ status, headers: { 'retry-after': retryAfter } });
      return http.get(url).then(() => undefined, (err: unknown) => err);
    };
    const seconds = await refusal(503, '20');
    expect(seconds).toBeInstanceOf(RetryLaterError);
    expect(seconds).toMatchObject({ field: url, retryAt: new Date(now + 20_000), message: expect.stringMatching(/answered 503 and asks to wait 20 s; left to a later poll/) });
    expect(await refusal(429, 'Mon, 30 Nov 2026 12:10:00 GMT')).toMatchObject({ retryAt: new Date('2026-11-30T12:10:00Z') });
    expect(waits).toEqual([]);
    // A wait that ends by the deadline is waited.
    answers.push({ status: 503, headers: { 'retry-after': '15' } });
    expect((await http.get(url)).status).toBe(200);
    expect(waits).toEqual([15_000]);
    // Out of tries, the last Retry-After still goes with the error.
    const once = new LogHttp({ attempts: 1, now: () => now });
    answers.push({ status: 503, headers: { 'retry-after': '7' } });
    await expect(once.get(url)).rejects.toMatchObject({ retryAt: new Date(now + 7000) });
  });

  it('takes neither a negative nor a fractional Retry-After, nor an unparseable one, as a wait', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 5 ', now)).toBe(5000);
    expect(retryAfterMs('Sun, 29 Nov 2026 12:00:00 GMT', now)).toBe(0);
    for (const bad of ['-5', '1.5', 'soon', '', undefined, null]) expect(retryAfterMs(bad, now), String(bad)).toBeUndefined();
  });

  it('reads a Retry-After past a year as a year (RFC 9110 sets no bound; a log asking for 10^14 seconds must not make a time no Date holds)', async () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const year = 365 * 86_400_000;
    expect(retryAfterMs('99999999999999', now)).toBe(year);
    expect(retryAfterMs('9'.repeat(400), now)).toBe(year);
    expect(retryAfterMs('Fri, 31 Dec 9999 23:59:59 GMT', now)).toBe(year);
    const once = new LogHttp({ attempts: 1, now: () => now });
    answers.push({ status: 503, headers: { 'retry-after': '99999999999999' } });
    await expect(once.get(url)).rejects.toMatchObject({ retryAt: new Date(now + year) });
  });

  it('spaces requests, concurrent ones included, to the configured rate', async () => {
    let now = 1_000_000;
    const waits: number[] = [];
    const http = new LogHttp({ requestsPerSecond: 4, now: () => now, sleep: async (ms) => void waits.push(ms) });
    await Promise.all(Array.from({ length: 5 }, () => http.get(url)));
    // Five requests at one instant take the slots 0, 250, 500, 750 and 1000 ms out.
    expect(waits).toEqual([250, 500, 750, 1000]);
    now += 5_000;
    waits.length = 0;
    await http.get(url);
    expect(waits).toEqual([]);
  });
});
