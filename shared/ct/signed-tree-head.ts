import { createPublicKey, verify } from 'node:crypto';

export interface SignedTreeHead {
  treeSize: number;
  timestamp: number;
  rootHash: Buffer;
  signature: Buffer;
}

/** The STH fields of a get-sth answer, checked for shape; undefined when malformed. */
export function parseSth(json: Record<string, unknown>): SignedTreeHead | undefined {
  const { tree_size: size, timestamp, sha256_root_hash: root, tree_head_signature: sig } = json;
  // Sizes and times are 64-bit unsigned in the signed structure; beyond 2^53 no log is real.
  const inRange = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!inRange(size) || !inRange(timestamp) || typeof root !== 'string' || typeof sig !== 'string') return undefined;
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32) return undefined;
  return { treeSize: size as number, timestamp: timestamp as number, rootHash, signature: Buffer.from(sig, 'base64') };
}

/**
 * RFC 6962 3.5: the log's signature over version 0, signature type tree_hash (1), timestamp,
 * tree size and root hash, carried as a TLS DigitallySigned (hash and signature algorithm bytes,
 * a two-byte length, the signature). `keyBase64` is the log's SubjectPublicKeyInfo, as log lists give it.
 */
export function sthSignatureValid(sth: SignedTreeHead, keyBase64: string): boolean {
  const signed = Buffer.alloc(2 + 8 + 8 + 32);
  signed[0] = 0;
  signed[1] = 1;
  signed.writeBigUInt64BE(BigInt(sth.timestamp), 2);
  signed.writeBigUInt64BE(BigInt(sth.treeSize), 10);
  sth.rootHash.copy(signed, 18);
  const ds = sth.signature;
  if (ds.length < 4 || ds[0] !== 4) return false; // SHA-256 is the only hash RFC 6962 logs use
  const length = ds.readUInt16BE(2);
  if (ds.length !== 4 + length) return false;
  try {
    const key = createPublicKey({ key: Buffer.from(keyBase64, 'base64'), format: 'der', type: 'spki' });
    return verify('sha256', signed, key, ds.subarray(4));
  } catch {
    return false;
  }
}
