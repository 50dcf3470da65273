import { generateKeyPair as generate, sign, type KeyObject } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { bits, NULL, octets, oid, seq, set, smallInt, tlv, utf8 } from './der-encode.ts';
import { OID } from './oids.ts';
import { toPem } from './pem.ts';
import { generalName } from './certificate-builder.ts';

export const KEY_ALGORITHMS = ['EC_P256', 'EC_P384', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function parseKeyAlgorithm(value: unknown, field = 'keyAlgorithm'): KeyAlgorithm {
  if (value === undefined) return 'EC_P256';
  if (typeof value !== 'string' || !(KEY_ALGORITHMS as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${KEY_ALGORITHMS.join(', ')}`, field);
  }
  return value as KeyAlgorithm;
}

/** The hash and the signature AlgorithmIdentifier (DER) a key of this kind signs with. */
export function signingAlgorithm(keyAlgorithm: string): { hash: string; algorithmDer: Buffer } {
  if (keyAlgorithm === 'EC_P384') return { hash: 'sha384', algorithmDer: seq(oid('1.2.840.10045.4.3.3')) };
  if (keyAlgorithm.startsWith('EC_')) return { hash: 'sha256', algorithmDer: seq(oid('1.2.840.10045.4.3.2')) };
  return { hash: 'sha256', algorithmDer: seq(oid('1.2.840.113549.1.1.11'), NULL) };
}

/** A new key pair, generated on the thread pool. */
export function generateKeyPair(alg: KeyAlgorithm): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) => (err ? reject(err) : resolve({ publicKey, privateKey }));
    if (alg.startsWith('EC_')) generate('ec', { namedCurve: alg === 'EC_P384' ? 'P-384' : 'P-256' }, done);
    else generate('rsa', { modulusLength: Number(alg.slice(4)) }, done);
  });
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** Signs on the thread pool (so concurrent signatures use every core). */
export function signAsync(hash: string, data: Uint8Array, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

/** A PKCS#10 request for `commonName` and `names`, signed with the key (the proof of possession). */
export async function createCsr(alg: KeyAlgorithm, keys: KeyPair, commonName: string, names: string[]): Promise<string> {
  return signCsr(alg, keys, commonName, [extensionRequest([subjectAltName(names)])]);
}

/** A subjectAltName extension (RFC 5280 4.2.1.6) naming `names`, DER. */
export const subjectAltName = (names: string[]) => seq(oid(OID.subjectAltName), octets(seq(...names.map(generalName))));

/** A PKCS#10 extensionRequest attribute (RFC 2985 5.4.2) holding `extensions`, DER. */
export const extensionRequest = (extensions: Uint8Array[]) => seq(oid('1.2.840.113549.1.9.14'), set(seq(...extensions)));

/** A PKCS#10 request (RFC 2986 4) for `commonName` with these attributes, signed with `keys`, PEM. */
export async function signCsr(alg: KeyAlgorithm, keys: KeyPair, commonName: string, attributes: Uint8Array[]): Promise<string> {
  const info = seq(
    smallInt(0),
    seq(set(seq(oid(OID.commonName), utf8(commonName)))),
    spkiOf(keys.publicKey),
    tlv(0xa0, ...attributes),
  );
  const { hash, algorithmDer } = signingAlgorithm(alg);
  return toPem(seq(info, algorithmDer, bits(await signAsync(hash, info, keys.privateKey))), 'CERTIFICATE REQUEST');
}
