import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CollapsedTree, leafHash, treeHash, verifyConsistency, verifyInclusion } from '../shared/ct/merkle.ts';
import { parseLeaf } from '../shared/ct/merkle-tree-leaf.ts';
import { parseSth, sthSignatureValid } from '../shared/ct/signed-tree-head.ts';
import { certificateNames, tbsNames } from '../shared/x509/tbs-names.ts';
import { ROOT } from './support/processes.ts';

const ct = (f: string) => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/ct', f), 'utf8'));
const b64 = (s: string) => Buffer.from(s, 'base64');
const pemKey = (f: string) => readFileSync(join(ROOT, 'test/fixtures/ct', f), 'utf8').replace(/-----[^-]+-----|\s/g, '');

describe('CT verification against real log responses', () => {
  const icarusKey = ct('icarus/log.json').key;

  it('verifies Icarus STH signatures with the key from its log list entry, and refuses a changed STH', () => {
    for (const f of ['icarus/get-sth-129596132.json', 'icarus/get-sth-129721434.json']) {
      const sth = parseSth(ct(f))!;
      expect(sthSignatureValid(sth, icarusKey)).toBe(true);
      expect(sthSignatureValid({ ...sth, treeSize: sth.treeSize + 1 }, icarusKey)).toBe(false);
      const root = Buffer.from(sth.rootHash);
      root[0] ^= 1;
      expect(sthSignatureValid({ ...sth, rootHash: root }, icarusKey)).toBe(false);
    }
  });

  it('verifies STHs signed with RSA and ECDSA keys of other logs', () => {
    expect(sthSignatureValid(parseSth(ct('gct-verify-test/ecdsa-2012-sth.json'))!, pemKey('gct-verify-test/ecdsa-2012-pubkey.pem'))).toBe(true);
    expect(sthSignatureValid(parseSth(ct('gct-verify-test/venafi-rsa-sth.json'))!, pemKey('gct-verify-test/venafi-rsa-pubkey.pem'))).toBe(true);
    expect(sthSignatureValid(parseSth(ct('ctgo-logclient/get-sth.json'))!, pemKey('ctgo-logclient/google-ct-pilot-server-key-public.pem'))).toBe(true);
    expect(sthSignatureValid(parseSth(ct('aviator/final-sth.json'))!, ct('aviator/log.json').key)).toBe(true);
  });

  it('rejects the deliberately invalid STH', () => {
    const sth = parseSth(ct('ctgo-scanner/get-sth.json'));
    const key = ct('icarus/log.json').key;
    expect(sth === undefined || !sthSignatureValid(sth, key)).toBe(true);
  });

  it('verifies the consistency proof between the two Icarus tree heads, and nothing else', () => {
    const a = parseSth(ct('icarus/get-sth-129596132.json'))!;
    const b = parseSth(ct('icarus/get-sth-129721434.json'))!;
    const proof = (ct('icarus/get-sth-consistency-129596132-129721434.json').consistency as string[]).map(b64);
    expect(verifyConsistency(a.treeSize, b.treeSize, a.rootHash, b.rootHash, proof)).toBe(true);
    expect(verifyConsistency(a.treeSize, b.treeSize, b.rootHash, a.rootHash, proof)).toBe(false);
    expect(verifyConsistency(a.treeSize + 1, b.treeSize, a.rootHash, b.rootHash, proof)).toBe(false);
    expect(verifyConsistency(a.treeSize, b.treeSize, a.rootHash, b.rootHash, proof.slice(1))).toBe(false);
  });

  it('verifies the inclusion proof of leaf 120000000 and reads its certificate', () => {
    const sth = parseSth(ct('icarus/get-sth-129721434.json'))!;
    const body = ct('icarus/get-entry-and-proof-120000000-129721434.json');
    const leaf = b64(body.leaf_input);
    const proof = (body.audit_path as string[]).map(b64);
    expect(verifyInclusion(leafHash(leaf), 120000000, sth.treeSize, proof, sth.rootHash)).toBe(true);
    expect(verifyInclusion(leafHash(leaf), 120000001, sth.treeSize, proof, sth.rootHash)).toBe(false);
    const flipped = Buffer.from(leaf);
    flipped[flipped.length - 10] ^= 1;
    expect(verifyInclusion(leafHash(flipped), 120000000, sth.treeSize, proof, sth.rootHash)).toBe(false);
    const entry = parseLeaf(leaf);
    expect(entry.entryType).toBe('x509');
    expect(certificateNames(entry.der)).toContain('gem-jewelers.com');
  });

  it('reads x509 and precert entries, and hashes four real leaves to their known tree head', () => {
    const entries = (ct('ctgo-logclient/get-entries.json').entries as { leaf_input: string }[]).map((e) => parseLeaf(b64(e.leaf_input)));
    expect(entries.map((e) => e.entryType)).toEqual(['x509', 'precert']);
    expect(certificateNames(entries[0].der)).toContain('csrcn.ssl24.jp');
    expect(Buffer.from(entries[1].issuerKeyHash!).toString('hex')).toBe('3760e2790f33a498f9b6c149fecfca3993954b536fbf36ad45d0a8415b79337d');
    expect(tbsNames(entries[1].der).length).toBeGreaterThan(0);
    const four = (ct('ctgo-scanner/get-entries-0-3.json').entries as { leaf_input: string }[]).map((e) => leafHash(b64(e.leaf_input)));
    expect(treeHash(four).toString('base64')).toBe('A26tmgcaUJpkFXFpkzCS8bJ29cQBEgExKAYFL8hiJ5E=');
  });

  it('keeps a collapsed tree whose root equals the full tree hash at every size', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const tree = new CollapsedTree();
    leaves.forEach((l, i) => {
      tree.append(l);
      expect(tree.root().equals(treeHash(leaves.slice(0, i + 1))), `size ${i + 1}`).toBe(true);
      expect(tree.hashes.length).toBe((i + 1).toString(2).replace(/0/g, '').length);
    });
    const restored = CollapsedTree.fromJSON(JSON.parse(JSON.stringify(tree.toJSON())));
    expect(restored.root().equals(tree.root())).toBe(true);
  });
});

describe('starting at the end of a log', () => {
  it('rebuilds the collapsed tree from the last leaf and its audit path, for every size', async () => {
    const { auditPath } = await import('./support/ct-test-log.ts');
    for (let size = 1; size <= 40; size++) {
      const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`e${i}`)));
      const tree = CollapsedTree.fromInclusionPath(size - 1, size, leaves[size - 1], auditPath(leaves, size - 1));
      expect(tree.root().equals(treeHash(leaves)), `size ${size}`).toBe(true);
      tree.append(leafHash(Buffer.from('next')));
      expect(tree.root().equals(treeHash([...leaves, leafHash(Buffer.from('next'))]))).toBe(true);
    }
  });

  it('rebuilds the tree up to any leaf from that leaf\'s audit path in a larger tree', async () => {
    const { auditPath } = await import('./support/ct-test-log.ts');
    for (let size = 1; size <= 33; size++) {
      const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`e${i}`)));
      for (let index = 0; index < size; index++) {
        const tree = CollapsedTree.fromInclusionPath(index, size, leaves[index], auditPath(leaves, index));
        expect(tree.root().equals(treeHash(leaves.slice(0, index + 1))), `leaf ${index} of ${size}`).toBe(true);
      }
    }
  });
});

describe('the test log\'s proofs (used by these tests and the handed case tools)', () => {
  it('gives consistency proofs that RFC 6962 2.1.4 verification accepts for every pair of sizes', async () => {
    const { consistencyProof } = await import('./support/ct-test-log.ts');
    const leaves = Array.from({ length: 20 }, (_, i) => leafHash(Buffer.from(`e${i}`)));
    for (let second = 1; second <= leaves.length; second++) {
      for (let first = 1; first < second; first++) {
        const proof = consistencyProof(leaves.slice(0, second), first);
        expect(verifyConsistency(first, second, treeHash(leaves.slice(0, first)), treeHash(leaves.slice(0, second)), proof), `${first} to ${second}`).toBe(true);
        expect(verifyConsistency(first, second, treeHash(leaves.slice(1, first + 1)), treeHash(leaves.slice(0, second)), proof)).toBe(false);
      }
    }
  });
});
