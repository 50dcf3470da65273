import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leafHash, treeHash } from '../../shared/ct/merkle.ts';

/** An RFC 6962 MerkleTreeLeaf for an x509 entry (version 0, timestamped_entry, no extensions). */
export function x509Leaf(der: Uint8Array, timestampMs: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0, 0);
  head.writeBigUInt64BE(BigInt(timestampMs), 2);
  head.writeUInt16BE(0, 10);
  const len = Buffer.from([der.length >> 16, (der.length >> 8) & 0xff, der.length & 0xff]);
  return Buffer.concat([head, len, der, Buffer.from([0, 0])]);
}

/**
 * A small RFC 6962 log for tests: get-sth with the real Merkle root of its leaves and get-entries
 * honouring a maximum batch, as real logs do. Leaves can be appended while it runs.
 */
export async function startTestLog(maxBatch = 64): Promise<{ url: string; append(leaf: Buffer): void; requests: string[]; close(): Promise<void> }> {
  const leaves: Buffer[] = [];
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://log');
    requests.push(url.pathname + url.search);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/ct/v1/get-sth') {
      return json(200, { tree_size: leaves.length, timestamp: Date.now(), sha256_root_hash: treeHash(leaves.map(leafHash)).toString('base64'), tree_head_signature: '' });
    }
    if (url.pathname === '/ct/v1/get-entries') {
      const start = Number(url.searchParams.get('start'));
      const end = Number(url.searchParams.get('end'));
      if (!(start >= 0 && end >= start && start < leaves.length)) return json(400, { error_message: 'bad range' });
      const slice = leaves.slice(start, Math.min(end + 1, start + maxBatch, leaves.length));
      return json(200, { entries: slice.map((l) => ({ leaf_input: l.toString('base64'), extra_data: '' })) });
    }
    json(404, { error_message: 'not found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    append: (leaf) => leaves.push(leaf),
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
