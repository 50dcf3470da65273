import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PebbleSetup } from './pebble.ts';

/** One request the front passed on (or answered itself). */
export interface FrontRequest {
  method: string;
  path: string;
  /** When it arrived, ms since the epoch. */
  at: number;
}

export interface FrontOptions {
  /** The directory as clients see it, from Pebble's (to add what Pebble 2.4 lacks: renewalInfo, profiles). */
  directory?(directory: Record<string, unknown>, origin: string): Record<string, unknown>;
  /** Extra response headers for a request Pebble answered (its path and the body Pebble sent). */
  headers?(path: string, body: string): Record<string, string> | undefined;
  /** Answers a request itself instead of passing it on (true when it did). */
  answer?(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface PebbleFront {
  directoryUrl: string;
  origin: string;
  requests: FrontRequest[];
  close(): Promise<void>;
}

/**
 * An HTTPS front for Pebble, for what a real CA says and Pebble 2.4 does not (renewalInfo,
 * profiles, Retry-After): every request goes through to Pebble with its Host header, so Pebble
 * names its URLs (and checks each JWS's url) at the front's origin and the protocol is Pebble's own.
 * It serves with Pebble's TLS certificate (the same root trusts it).
 */
export async function startPebbleFront(setup: PebbleSetup, dir: string, options: FrontOptions = {}): Promise<PebbleFront> {
  const upstream = new URL(setup.directoryUrl);
  const requests: FrontRequest[] = [];
  const server = createServer({ cert: readFileSync(join(dir, 'pebble-cert.pem')), key: readFileSync(join(dir, 'pebble-key.pem')) }, (req, res) => {
    const path = String(req.url);
    requests.push({ method: String(req.method), path, at: Date.now() });
    if (options.answer?.(req, res)) return;
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const up = request({ host: upstream.hostname, port: upstream.port, path, method: req.method, headers: req.headers, ca: setup.tlsRootPem }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          let text = Buffer.concat(chunks).toString();
          if (path === upstream.pathname && options.directory) text = JSON.stringify(options.directory(JSON.parse(text), origin));
          const headers: IncomingHttpHeaders = { ...answer.headers, ...options.headers?.(path, text), 'content-length': String(Buffer.byteLength(text)) };
          delete headers['transfer-encoding'];
          res.writeHead(answer.statusCode ?? 502, headers).end(text);
        });
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    directoryUrl: `${origin}${upstream.pathname}`,
    origin,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
