import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A local HTTPS endpoint that answers like Splunk HEC: token header, gzip, and (when told) 503 with Retry-After, or slowness. */
export async function startHecReceiver(cert: string, key: string, token: string) {
  const events: Record<string, unknown>[] = [];
  const state = { down: false, failWith: 0, retryAfter: '', delayMs: 0, requests: 0, gzipped: 0 };
  const server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      state.requests++;
      if (state.down) return void req.socket.destroy();
      if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
      if (req.headers.authorization !== `Splunk ${token}`) return void res.writeHead(401).end('{"text":"Invalid token","code":4}');
      if (state.failWith) return void res.writeHead(state.failWith, state.retryAfter ? { 'retry-after': state.retryAfter } : {}).end('{"text":"Server is busy","code":9}');
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') {
        body = gunzipSync(body);
        state.gzipped++;
      }
      // HEC takes events back to back: {...}{...} or one per line.
      for (const line of body.toString().split('\n').filter(Boolean)) events.push(JSON.parse(line));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/services/collector/event`, events, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}
