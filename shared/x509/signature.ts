import { X509Certificate, createHash, verify, type KeyObject } from 'node:crypto';
import { publicKeyObject } from './public-key-object.ts';

const HASHES: Record<string, string | null> = {
  sha1WithRSAEncryption: 'sha1', sha256WithRSAEncryption: 'sha256', sha384WithRSAEncryption: 'sha384', sha512WithRSAEncryption: 'sha512',
  md5WithRSAEncryption: 'md5', 'ecdsa-with-SHA1': 'sha1', 'ecdsa-with-SHA256': 'sha256', 'ecdsa-with-SHA384': 'sha384', 'ecdsa-with-SHA512': 'sha512',
  'dsa-with-SHA1': 'sha1', 'dsa-with-SHA256': 'sha256', Ed25519: null, Ed448: null,
};

/**
 * Verified (signature, key) pairs. A signature is a pure function of its inputs, and scans and
 * chain checks meet the same intermediates over and over: remembering the answer saves a
 * public-key operation each time. Bounded, oldest forgotten first.
 */
const MAX_REMEMBERED = 20_000;
const remembered = new Map<string, boolean>();
const keys = new Map<string, KeyObject>();

function keyFor(spkiDer: Uint8Array, id: string): KeyObject {
  let key = keys.get(id);
  if (!key) {
    key = publicKeyObject(spkiDer);
    if (keys.size >= MAX_REMEMBERED) keys.delete(keys.keys().next().value!);
    keys.set(id, key);
  }
  return key;
}

function check(algorithm: string, signed: Uint8Array, signature: Uint8Array, spkiDer: Uint8Array, spkiId: string, certificateDer: Uint8Array | undefined): boolean {
  try {
    const key = keyFor(spkiDer, spkiId);
    if (algorithm in HASHES) return verify(HASHES[algorithm], signed, key, signature);
    return certificateDer !== undefined && new X509Certificate(certificateDer).verify(key);
  } catch {
    return false;
  }
}

/**
 * Whether `signature` over `signed` verifies with the key in `spkiDer`. Algorithms Node's verify
 * takes directly are checked that way; others (RSASSA-PSS with parameters) through OpenSSL's
 * certificate verification of the whole certificate, `certificateDer`; without it (a CRL, an OCSP
 * response) such a signature does not verify.
 */
export function signatureVerifies(algorithm: string, signed: Uint8Array, signature: Uint8Array, spkiDer: Uint8Array, certificateDer?: Uint8Array): boolean {
  const spkiId = Buffer.from(spkiDer).toString('base64');
  // Everything the answer depends on is in the key: a signature copied onto other signed bytes misses.
  const id = `${algorithm}|${spkiId}|${createHash('sha256').update(signed).digest('base64')}|${Buffer.from(signature).toString('base64')}`;
  let ok = remembered.get(id);
  if (ok === undefined) {
    ok = check(algorithm, signed, signature, spkiDer, spkiId, certificateDer);
    if (remembered.size >= MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(id, ok);
  }
  return ok;
}
