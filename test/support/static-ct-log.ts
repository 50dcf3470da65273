import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leafHash, treeHash } from '../../shared/ct/merkle.ts';
import { StaticCtClient } from '../../adapters/ct/static-ct-client.ts';

const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 255, n & 255]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);

/**
 * A static-ct-api log written for the tests from the spec: a checkpoint signed as a note with an
 * RFC 6962 signature line, hash tiles of every level and data tiles, partial tiles at the right edge.
 */
export async function startStaticLog(origin = 'static.test.example/log') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = publicKey.export({ type: 'spki', format: 'der' });
  const entries: { timestamped: Buffer; tile: Buffer }[] = [];
  const faults = { flipBitInEntry: -1 };
  const requests: string[] = [];
  const issuers = new Map<string, Buffer>();

  const checkpoint = () => {
    const hashes = entries.map((e) => leafHash(Buffer.concat([Buffer.from([0, 0]), e.timestamped])));
    const root = treeHash(hashes);
    const timestamp = Date.now();
    const signed = Buffer.alloc(50);
    signed[1] = 1;
    signed.writeBigUInt64BE(BigInt(timestamp), 2);
    signed.writeBigUInt64BE(BigInt(entries.length), 10);
    root.copy(signed, 18);
    const sig = sign('sha256', signed, privateKey);
    const keyId = createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n\x05`), key])).digest().subarray(0, 4);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(timestamp));
    const line = Buffer.concat([keyId, ts, Buffer.from([4, 3]), u16(sig.length), sig]).toString('base64');
    return `${origin}\n${entries.length}\n${root.toString('base64')}\n\n\u2014 ${origin} ${line}\n`;
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://log').pathname.replace(/^\/+/, '');
    requests.push(path);
    if (path === 'checkpoint') return void res.writeHead(200).end(checkpoint());
    const issuer = /^issuer\/([0-9a-f]{64})$/.exec(path);
    if (issuer) return void (issuers.has(issuer[1]) ? res.writeHead(200).end(issuers.get(issuer[1])) : res.writeHead(404).end());
    const m = /^tile\/(\d+|data)\/(.+?)(?:\.p\/(\d+))?$/.exec(path);
    if (!m) return void res.writeHead(404).end();
    const tile = Number(m[2].split('/').map((g) => g.replace(/^x/, '')).join(''));
    const width = m[3] ? Number(m[3]) : 256;
    if (m[1] !== 'data') {
      // Level L: the root of each perfect subtree of 256^L entries.
      const span = 256 ** Number(m[1]);
      if ((tile * 256 + width) * span > entries.length) return void res.writeHead(404).end();
      const leaves = entries.map((e) => leafHash(Buffer.concat([Buffer.from([0, 0]), e.timestamped])));
      return void res.writeHead(200).end(Buffer.concat(Array.from({ length: width }, (_, k) => treeHash(leaves.slice((tile * 256 + k) * span, (tile * 256 + k + 1) * span)))));
    }
    const slice = entries.slice(tile * 256, tile * 256 + width);
    if (slice.length !== width) return void res.writeHead(404).end();
    const data = Buffer.concat(slice.map((e, k) => {
      if (tile * 256 + k !== faults.flipBitInEntry) return e.tile;
      const flipped = Buffer.from(e.tile);
      flipped[30] ^= 1;
      return flipped;
    }));
    res.writeHead(200).end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    key: key.toString('base64'),
    faults,
    requests,
    tilePath: StaticCtClient.tilePath,
    /** An x509 entry: TimestampedEntry (with an empty extensions field) and its chain's fingerprints, the issuer served under issuer/. */
    appendCertificate(der: Buffer, timestampMs: number, issuerDer?: Buffer) {
      const ts = Buffer.alloc(10);
      ts.writeBigUInt64BE(BigInt(timestampMs));
      const timestamped = Buffer.concat([ts, u24(der.length), der, u16(0)]);
      const chain = issuerDer ? createHash('sha256').update(issuerDer).digest() : Buffer.alloc(0);
      if (issuerDer) issuers.set(chain.toString('hex'), issuerDer);
      entries.push({ timestamped, tile: Buffer.concat([timestamped, u16(chain.length), chain]) });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
