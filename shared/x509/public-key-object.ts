import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { children, readTlv } from './der.ts';
import { OID } from './oids.ts';
import { oidString } from './der.ts';

const CURVE_JWK: Record<string, string> = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521' };
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const unsigned = (b: Uint8Array) => (b[0] === 0 && b.length > 1 ? b.subarray(1) : b);

/** The JWK of a SubjectPublicKeyInfo for the common key types, or undefined. */
function jwkOf(spkiDer: Uint8Array): JsonWebKey | undefined {
  const [alg, key] = children(spkiDer, readTlv(spkiDer, 0));
  const [algOid, params] = children(spkiDer, alg);
  const id = oidString(spkiDer, algOid);
  const bitsValue = spkiDer.subarray(key.start + 1, key.end);
  if (id === OID.ecPublicKey && params?.tag === 0x06) {
    const crv = CURVE_JWK[oidString(spkiDer, params)];
    const half = (bitsValue.length - 1) / 2;
    if (!crv || bitsValue[0] !== 0x04) return undefined;
    return { kty: 'EC', crv, x: b64url(bitsValue.subarray(1, 1 + half)), y: b64url(bitsValue.subarray(1 + half)) };
  }
  if (id === OID.rsaEncryption) {
    const [n, e] = children(bitsValue, readTlv(bitsValue, 0));
    return { kty: 'RSA', n: b64url(unsigned(bitsValue.subarray(n.start, n.end))), e: b64url(unsigned(bitsValue.subarray(e.start, e.end))) };
  }
  if (id === OID.ed25519) return { kty: 'OKP', crv: 'Ed25519', x: b64url(bitsValue) };
  return undefined;
}

/**
 * A KeyObject for a SubjectPublicKeyInfo. OpenSSL 3's DER decoders are slow (about 95 µs for an
 * EC key here); building the key from its JWK parameters takes half that for EC and a thirtieth
 * for RSA, which matters on the issuance path where every CSR brings a new key.
 */
export function publicKeyObject(spkiDer: Uint8Array): KeyObject {
  const jwk = jwkOf(spkiDer);
  return jwk ? createPublicKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
}
