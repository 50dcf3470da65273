import { appendFileSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HttpSink } from '../../adapters/siem/http-sink.ts';
import { NdjsonFileSink } from '../../adapters/siem/ndjson-file-sink.ts';

describe('SIEM sinks', () => {
  it('rotates the NDJSON file past its size, keeping a bounded number of old files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-ndjson-'));
    const sink = new NdjsonFileSink(join(dir, 'events.ndjson'), 200, 2);
    for (let i = 0; i < 20; i++) await sink.send([JSON.stringify({ eventId: `e${i}`, pad: 'x'.repeat(40) })]);
    expect(readdirSync(dir).sort()).toEqual(['events.ndjson', 'events.ndjson.1', 'events.ndjson.2']);
    const lines = ['events.ndjson.2', 'events.ndjson.1', 'events.ndjson'].flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l).eventId);
    expect(lines.at(-1)).toBe('e19');
    expect(lines).toEqual([...lines].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  });

  it('writes a batch sent again after a crash once, finishing a line the crash tore', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'certops-ndjson-')), 'events.ndjson');
    const sink = new NdjsonFileSink(file);
    const line = (i: number) => JSON.stringify({ eventId: `e${i}` });
    await sink.send([line(1), line(2)]);
    // Sent, then killed before the outbox let go of it: the same batch comes again.
    await sink.send([line(1), line(2)]);
    // Killed in the middle of writing the next batch: one line whole, the next torn.
    appendFileSync(file, `${line(3)}\n${line(4).slice(0, 5)}`);
    await sink.send([line(3), line(4), line(5)]);
    await sink.send([line(6)]);
    expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).eventId)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
  });

  it('speaks Elastic _bulk (an action line before each document) with its API key, gzipped', async () => {
    let seen: { headers: Record<string, unknown>; body: string } | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        seen = { headers: req.headers, body: gunzipSync(Buffer.concat(chunks)).toString() };
        res.writeHead(200).end('{"errors":false}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const sink = new HttpSink({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/_bulk`, protocol: 'elastic-bulk', index: 'certops-events', token: 'key-1', gzip: true, timeoutMs: 2000 });
    expect(await sink.send(['{"a":1}', '{"b":2}'])).toMatchObject({ ok: true, status: 200 });
    server.close();
    expect(seen!.headers).toMatchObject({ authorization: 'ApiKey key-1', 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' });
    expect(seen!.body).toBe('{"create":{"_index":"certops-events"}}\n{"a":1}\n{"create":{"_index":"certops-events"}}\n{"b":2}\n');
  });

  it('reads Retry-After in seconds or as a date, and reports an unreachable receiver without throwing', async () => {
    const server = createServer((_req, res) => res.writeHead(429, { 'retry-after': '30' }).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    expect(await new HttpSink({ url: `http://127.0.0.1:${port}/`, protocol: 'json', gzip: false, timeoutMs: 2000 }).send(['{}'])).toMatchObject({ ok: false, status: 429, retryAfterMs: 30_000 });
    server.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await new HttpSink({ url: `http://127.0.0.1:${port}/`, protocol: 'json', gzip: false, timeoutMs: 2000 }).send(['{}'])).toMatchObject({ ok: false, error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
