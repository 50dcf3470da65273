import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, webhookSignature } from '../../adapters/targets/webhook-target.ts';

export interface Received {
  action: string;
  certificateId: string;
  fingerprintSha256: string;
  certificatePem: string;
  privateKeyPem: string;
}

/** A local HTTPS endpoint that takes certops webhook deployments, checking their signatures; it can be told to fail. */
export async function startWebhookReceiver(cert: string, key: string, secret: string) {
  const received: Received[] = [];
  const state = { failWith: 0, rejectedSignatures: 0 };
  const server = createServer({ cert, key }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const ts = String(req.headers[TIMESTAMP_HEADER]);
      if (req.headers[SIGNATURE_HEADER] !== webhookSignature(secret, ts, body)) {
        state.rejectedSignatures++;
        res.writeHead(401).end();
        return;
      }
      if (state.failWith) return void res.writeHead(state.failWith).end('failing on purpose');
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/deploy`,
    received,
    state,
    /** The certificate the receiver holds now: the last one it accepted. */
    current: () => received[received.length - 1],
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
