import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leafHash, nodeHash, treeHash } from '../../shared/ct/merkle.ts';

const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const opaque24 = (bytes: Uint8Array) => Buffer.concat([u24(bytes.length), bytes]);

/** An RFC 6962 MerkleTreeLeaf for an x509 entry (version 0, timestamped_entry, no extensions). */
export function x509Leaf(der: Uint8Array, timestampMs: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0, 0);
  head.writeBigUInt64BE(BigInt(timestampMs), 2);
  head.writeUInt16BE(0, 10);
  return Buffer.concat([head, opaque24(der), Buffer.from([0, 0])]);
}

/** An RFC 6962 MerkleTreeLeaf for a precert entry: issuer key hash and the TBS without the poison extension. */
export function precertLeaf(issuerKeyHash: Buffer, tbs: Uint8Array, timestampMs: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeBigUInt64BE(BigInt(timestampMs), 2);
  head.writeUInt16BE(1, 10);
  return Buffer.concat([head, issuerKeyHash, opaque24(tbs), Buffer.from([0, 0])]);
}

/** RFC 6962 4.6 extra_data of an x509 entry: certificate_chain, ASN.1Cert<0..2^24-1> list from the issuer up. */
export function x509ExtraData(chain: Uint8Array[]): Buffer {
  return opaque24(Buffer.concat(chain.map(opaque24)));
}

/** RFC 6962 4.6 extra_data of a precert entry: PrecertChainEntry, the precertificate (with its poison) then its chain. */
export function precertExtraData(precertificate: Uint8Array, chain: Uint8Array[]): Buffer {
  return Buffer.concat([opaque24(precertificate), x509ExtraData(chain)]);
}

const largestPowerOfTwoBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

/** MTH over leaves start..end-1 (RFC 6962 2.1). */
type SubtreeHash = (start: number, end: number) => Buffer;

/**
 * MTH over a range of an append-only list of leaf hashes, remembering each complete subtree (a
 * power of two of leaves, aligned) once computed, as a log's stored tree nodes: a tree head or a
 * proof then costs about log2(n) hashes, not a rehash of the whole tree per request.
 */
function subtreeHasher(hashes: Buffer[]): SubtreeHash {
  const complete = new Map<string, Buffer>();
  const mth: SubtreeHash = (start, end) => {
    const n = end - start;
    if (n <= 1) return n === 1 ? hashes[start] : treeHash([]);
    const key = (n & (n - 1)) === 0 ? `${start}+${n}` : undefined;
    const known = key && complete.get(key);
    if (known) return known;
    const k = largestPowerOfTwoBelow(n);
    const hash = nodeHash(mth(start, start + k), mth(start + k, end));
    if (key) complete.set(key, hash);
    return hash;
  };
  return mth;
}

/** RFC 6962 2.1.1 PATH(m, D[start:end]): the audit path of leaf m of that range, bottom up. */
function pathIn(mth: SubtreeHash, m: number, start: number, end: number): Buffer[] {
  if (end - start <= 1) return [];
  const k = largestPowerOfTwoBelow(end - start);
  return m < k ? [...pathIn(mth, m, start, start + k), mth(start + k, end)] : [...pathIn(mth, m - k, start + k, end), mth(start, start + k)];
}

/** RFC 6962 2.1.2 SUBPROOF(m, D[start:end], complete). */
function subproof(mth: SubtreeHash, m: number, start: number, end: number, complete: boolean): Buffer[] {
  if (m === end - start) return complete ? [] : [mth(start, end)];
  const k = largestPowerOfTwoBelow(end - start);
  return m <= k ? [...subproof(mth, m, start, start + k, complete), mth(start + k, end)] : [...subproof(mth, m - k, start + k, end, false), mth(start, start + k)];
}

/** RFC 6962 2.1.1 PATH(m, D[n]): the audit path of leaf m, bottom up. */
export function auditPath(hashes: Buffer[], m: number): Buffer[] {
  return pathIn(subtreeHasher(hashes), m, 0, hashes.length);
}

/** RFC 6962 2.1.2 PROOF(m, D[n]): the consistency proof from the first m leaves to all of them. */
export function consistencyProof(hashes: Buffer[], m: number): Buffer[] {
  return subproof(subtreeHasher(hashes), m, 0, hashes.length, true);
}

/**
 * A small RFC 6962 log for tests: signed tree heads (ECDSA P-256), get-entries honouring a
 * maximum batch, consistency and inclusion proofs, and ways to misbehave on purpose: serve an
 * entry with a flipped bit, sign with the wrong key, or present a tree head inconsistent with
 * the one before.
 */
export async function startTestLog(maxBatch = 64) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const wrongKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const leaves: Buffer[] = [];
  // RFC 6962 4.6 extra_data per entry: the chain (and, for a precertificate, the precertificate itself).
  const extraData: Buffer[] = [];
  const requests: string[] = [];
  const faults = { flipBitInEntry: -1, wrongSignature: false, forkedRoot: false, latencyMs: 0, staleSize: -1 };
  const leafHashes: Buffer[] = [];
  const mth = subtreeHasher(leafHashes);
  const signedHead = (size: number) => {
    const root = faults.forkedRoot ? treeHash([...leafHashes.slice(0, Math.max(0, size - 1)), leafHash(Buffer.from('a different history'))]) : mth(0, size);
    const timestamp = Date.now();
    const data = Buffer.alloc(50);
    data[1] = 1;
    data.writeBigUInt64BE(BigInt(timestamp), 2);
    data.writeBigUInt64BE(BigInt(size), 10);
    root.copy(data, 18);
    const sig = sign('sha256', data, faults.wrongSignature ? wrongKey : privateKey);
    const ds = Buffer.concat([Buffer.from([4, 3, sig.length >> 8, sig.length & 0xff]), sig]);
    return { tree_size: size, timestamp, sha256_root_hash: root.toString('base64'), tree_head_signature: ds.toString('base64') };
  };
  const server: Server = createServer(async (req, res) => {
    if (faults.latencyMs) await new Promise((r) => setTimeout(r, faults.latencyMs));
    const url = new URL(req.url ?? '/', 'http://log');
    requests.push(url.pathname + url.search);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const q = (name: string) => Number(url.searchParams.get(name));
    switch (url.pathname) {
      case '/ct/v1/get-sth':
        // A caching front end answers with an older head (staleSize); forkedRoot makes that head a forgery.
        return json(200, signedHead(faults.staleSize >= 0 ? faults.staleSize : leaves.length));
      case '/ct/v1/get-entries': {
        const [start, end] = [q('start'), q('end')];
        if (!(start >= 0 && end >= start && start < leaves.length)) return json(400, { error_message: 'bad range' });
        const served = leaves.slice(start, Math.min(end + 1, start + maxBatch, leaves.length)).map((l, i) => {
          if (start + i !== faults.flipBitInEntry) return l;
          const flipped = Buffer.from(l);
          flipped[flipped.length - 20] ^= 1;
          return flipped;
        });
        return json(200, { entries: served.map((l, i) => ({ leaf_input: l.toString('base64'), extra_data: extraData[start + i].toString('base64') })) });
      }
      case '/ct/v1/get-sth-consistency':
        return json(200, { consistency: subproof(mth, q('first'), 0, q('second'), true).map((h) => h.toString('base64')) });
      case '/ct/v1/get-proof-by-hash': {
        const want = Buffer.from(String(url.searchParams.get('hash')), 'base64');
        const size = q('tree_size');
        const index = leafHashes.slice(0, size).findIndex((h) => h.equals(want));
        if (index < 0) return json(404, { error_message: 'no such leaf' });
        return json(200, { leaf_index: index, audit_path: pathIn(mth, index, 0, size).map((h) => h.toString('base64')) });
      }
      default:
        return json(404, { error_message: 'not found' });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    key: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    append: (leaf: Buffer, extra: Buffer = Buffer.alloc(0)) => {
      leaves.push(leaf);
      extraData.push(extra);
      leafHashes.push(leafHash(leaf));
    },
    requests,
    faults,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
