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

/**
 * The right edge of a Merkle tree, enough to keep appending and to compute the root: the roots
 * of its perfect subtrees, largest first (a "collapsed" tree). Its state is a size and at most
 * log2(size) hashes, so it can be saved after every verified batch.
 */
export class CollapsedTree {
  constructor(public size = 0, public hashes: Buffer[] = []) {}

  append(leafHashValue: Buffer): void {
    let node = leafHashValue;
    // Merge with left siblings for every trailing one bit of the old size.
    for (let s = this.size; s & 1; s >>= 1) node = nodeHash(this.hashes.pop()!, node);
    this.hashes.push(node);
    this.size++;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return treeHash([]);
    let node = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) node = nodeHash(this.hashes[i], node);
    return node;
  }

  clone(): CollapsedTree {
    return new CollapsedTree(this.size, [...this.hashes]);
  }

  toJSON(): { size: number; hashes: string[] } {
    return { size: this.size, hashes: this.hashes.map((h) => h.toString('base64')) };
  }

  /**
   * The collapsed tree of the first `index + 1` leaves, from leaf `index`'s hash and its audit path
   * in a tree of `treeSize` (RFC 9162 2.1.3.2): the path's left siblings are exactly the perfect
   * subtrees before the leaf. It lets a monitor start at any entry without reading what came before;
   * the caller checks the path against a signed root first.
   */
  static fromInclusionPath(index: number, treeSize: number, leafHashValue: Buffer, path: Buffer[]): CollapsedTree {
    const left = (auditPathSides(index, treeSize, path) ?? []).filter((s) => s.left).map((s) => s.sibling);
    const tree = new CollapsedTree(index, left.reverse());
    tree.append(leafHashValue);
    return tree;
  }

  static fromJSON(state: { size: number; hashes: string[] } | undefined): CollapsedTree {
    return state ? new CollapsedTree(state.size, state.hashes.map((h) => Buffer.from(h, 'base64'))) : new CollapsedTree();
  }
}

/**
 * RFC 9162 2.1.3.2's walk up the audit path of leaf `index` in a tree of `size`: each sibling, and
 * whether it sits to the left. Undefined when the path has the wrong length for that leaf.
 */
function auditPathSides(index: number, size: number, proof: Buffer[]): { sibling: Buffer; left: boolean }[] | undefined {
  let fn = index;
  let sn = size - 1;
  const sides: { sibling: Buffer; left: boolean }[] = [];
  for (const sibling of proof) {
    if (sn === 0) return undefined;
    const left = Boolean(fn & 1) || fn === sn;
    sides.push({ sibling, left });
    // A rightmost node without a sibling moves up levels until it has one.
    if (left) while (!(fn & 1) && fn !== 0) {
      fn >>= 1;
      sn >>= 1;
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? sides : undefined;
}

/** RFC 9162 2.1.3.2: does `proof` show the leaf at `index` in the tree of `size` with `root`? */
export function verifyInclusion(leaf: Buffer, index: number, size: number, proof: Buffer[], root: Buffer): boolean {
  const sides = index < size ? auditPathSides(index, size, proof) : undefined;
  return Boolean(sides?.reduce((r, s) => (s.left ? nodeHash(s.sibling, r) : nodeHash(r, s.sibling)), leaf).equals(root));
}

/** RFC 9162 2.1.4.2: does `proof` show the tree of `size1` with `root1` is a prefix of the tree of `size2` with `root2`? */
export function verifyConsistency(size1: number, size2: number, root1: Buffer, root2: Buffer, proof: Buffer[]): boolean {
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0 || size1 > size2 || proof.length === 0) return false;
  const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!(fn & 1)) while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(root1) && sr.equals(root2) && sn === 0;
}
