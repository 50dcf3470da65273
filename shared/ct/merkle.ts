import { createHash } from 'node:crypto';

/** RFC 6962 section 2.1: leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right). */
export function leafHash(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([0])).update(leaf).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/** The Merkle Tree Hash of the leaf hashes (RFC 6962 2.1): split at the largest power of two below n. */
export function treeHash(leafHashes: Uint8Array[]): Buffer {
  if (leafHashes.length === 0) return createHash('sha256').digest();
  if (leafHashes.length === 1) return Buffer.from(leafHashes[0]);
  let k = 1;
  while (k * 2 < leafHashes.length) k *= 2;
  return nodeHash(treeHash(leafHashes.slice(0, k)), treeHash(leafHashes.slice(k)));
}
