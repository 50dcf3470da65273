import { X509Certificate, createPublicKey, verify } from 'node:crypto';

const HASHES: Record<string, string | null> = {
  sha1WithRSAEncryption: 'sha1', sha256WithRSAEncryption: 'sha256', sha384WithRSAEncryption: 'sha384', sha512WithRSAEncryption: 'sha512',
  md5WithRSAEncryption: 'md5', 'ecdsa-with-SHA1': 'sha1', 'ecdsa-with-SHA256': 'sha256', 'ecdsa-with-SHA384': 'sha384', 'ecdsa-with-SHA512': 'sha512',
  'dsa-with-SHA1': 'sha1', 'dsa-with-SHA256': 'sha256', Ed25519: null, Ed448: null,
};

/**
 * Whether `signature` over `signed` verifies with the key in `spkiDer`. Algorithms Node's verify
 * takes directly are checked that way; others (RSASSA-PSS with parameters) through OpenSSL's
 * certificate verification of the whole certificate.
 */
export function signatureVerifies(algorithm: string, signed: Uint8Array, signature: Uint8Array, spkiDer: Uint8Array, certificateDer: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    if (algorithm in HASHES) return verify(HASHES[algorithm], signed, key, signature);
    return new X509Certificate(certificateDer).verify(key);
  } catch {
    return false;
  }
}
