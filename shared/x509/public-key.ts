import { children, derError, expectTlv, integerBytes, oidString, type Tlv } from './der.ts';
import { CURVES, INSECURE_CURVES, OID } from './oids.ts';

export interface PublicKeyInfo {
  /** certops' name for it: EC_P256, RSA_2048, Ed25519, DSA_1024, EC_secp256k1 ... */
  algorithm: string;
  type: 'RSA' | 'EC' | 'Ed25519' | 'Ed448' | 'DSA' | 'unknown';
  bits?: number;
  curve?: string;
  /** An RSA public exponent that is even or below 3 (CABF BR 6.1.6: odd, at least 3). */
  weakExponent?: boolean;
}

function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]));
}

const isNull = (t: Tlv | undefined) => t !== undefined && t.tag === 0x05 && t.end === t.start;

/** Reads a SubjectPublicKeyInfo; keys no one should accept (negative modulus, P-192) are errors. */
export function readPublicKey(buf: Uint8Array, spki: Tlv, field: string): PublicKeyInfo {
  const [algorithm, key] = children(buf, spki, field);
  if (!algorithm || algorithm.tag !== 0x30 || !key || key.tag !== 0x03) throw derError(field, 'malformed SubjectPublicKeyInfo');
  const [oidTlv, params] = children(buf, algorithm, field);
  const oid = oidString(buf, oidTlv, field);
  if (oid === OID.rsaEncryption || oid === OID.rsassaPss) {
    // RFC 3279 wants NULL; absent parameters are a common, harmless slip, anything else is not an RSA key.
    if (oid === OID.rsaEncryption && params && !isNull(params)) throw derError(field, 'RSA key missing NULL parameters');
    const seq = expectTlv(buf, key.start + 1, 0x30, field, 'RSAPublicKey', key.end);
    const [modulus, exponent] = children(buf, seq, field);
    if (!modulus || !exponent) throw derError(field, 'RSAPublicKey is incomplete');
    const n = integerBytes(buf, modulus, field, 'RSA modulus');
    const e = integerBytes(buf, exponent, field, 'RSA exponent');
    if (n[0] & 0x80) throw derError(field, 'RSA modulus is not a positive number');
    const bits = bitLength(n);
    const weakExponent = (e[e.length - 1] & 1) === 0 || (e[0] & 0x80) !== 0 || (e.length === 1 && e[0] < 3);
    return { algorithm: `RSA_${bits}`, type: 'RSA', bits, ...(weakExponent ? { weakExponent } : {}) };
  }
  if (oid === OID.ecPublicKey) {
    if (!params || params.tag !== 0x06) throw derError(field, 'EC key without a named curve');
    const curveOid = oidString(buf, params, field);
    if (INSECURE_CURVES[curveOid]) throw derError(field, `insecure curve (${INSECURE_CURVES[curveOid]})`);
    const curve = CURVES[curveOid] ?? curveOid;
    const bits = curve.startsWith('P') ? Number(curve.slice(1)) : (key.end - key.start - 2) * 4;
    return { algorithm: `EC_${curve}`, type: 'EC', bits, curve };
  }
  if (oid === OID.ed25519) return { algorithm: 'Ed25519', type: 'Ed25519', bits: 256 };
  if (oid === OID.ed448) return { algorithm: 'Ed448', type: 'Ed448', bits: 456 };
  if (oid === OID.dsa) {
    const p = params && params.tag === 0x30 ? children(buf, params, field)[0] : undefined;
    const bits = p ? bitLength(integerBytes(buf, p, field, 'DSA p')) : undefined;
    return { algorithm: `DSA_${bits ?? 'unknown'}`, type: 'DSA', bits };
  }
  return { algorithm: oid, type: 'unknown' };
}

/** certops' name for the key in a DER SubjectPublicKeyInfo (EC_P256, RSA_3072 ...); DerError when it is not one. */
export function publicKeyAlgorithm(spkiDer: Uint8Array): string {
  return readPublicKey(spkiDer, expectTlv(spkiDer, 0, 0x30, 'spki', 'SubjectPublicKeyInfo'), 'spki').algorithm;
}

/** The subjectPublicKey BIT STRING's bits (without tag, length and unused-bits octet) of a DER SubjectPublicKeyInfo: what key identifiers (RFC 5280 4.2.1.2) and OCSP's issuerKeyHash (RFC 6960 4.1.1) hash. */
export function subjectPublicKeyBits(spkiDer: Uint8Array): Uint8Array {
  const [, key] = children(spkiDer, expectTlv(spkiDer, 0, 0x30, 'spki', 'SubjectPublicKeyInfo'), 'spki');
  if (!key || key.tag !== 0x03) throw derError('spki', 'malformed SubjectPublicKeyInfo');
  return spkiDer.subarray(key.start + 1, key.end);
}
