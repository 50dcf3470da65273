import { webcrypto } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { x509 } from './crypto-provider.ts';
import { toPem } from './pem.ts';

export const KEY_ALGORITHMS = ['EC_P256', 'EC_P384', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

/** WebCrypto parameters for generating and signing with each key algorithm certops offers. */
export function algorithmParams(alg: KeyAlgorithm): { generate: RsaHashedKeyGenParams | EcKeyGenParams; sign: Algorithm | EcdsaParams } {
  if (alg.startsWith('EC_')) {
    const namedCurve = alg === 'EC_P384' ? 'P-384' : 'P-256';
    return { generate: { name: 'ECDSA', namedCurve }, sign: { name: 'ECDSA', hash: namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
  }
  const modulusLength = Number(alg.slice(4));
  const params = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength, publicExponent: new Uint8Array([1, 0, 1]) };
  return { generate: params, sign: params };
}

export function parseKeyAlgorithm(value: unknown, field = 'keyAlgorithm'): KeyAlgorithm {
  if (value === undefined) return 'EC_P256';
  if (typeof value !== 'string' || !(KEY_ALGORITHMS as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${KEY_ALGORITHMS.join(', ')}`, field);
  }
  return value as KeyAlgorithm;
}

export async function generateKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithmParams(alg).generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return toPem(new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
}

/** A PKCS#10 request for `commonName`, signed with the generated key (the proof of possession). */
export async function createCsr(alg: KeyAlgorithm, keys: CryptoKeyPair, commonName: string, names: string[]): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: algorithmParams(alg).sign,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map(sanEntry))],
  });
  return csr.toString('pem');
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A SAN entry for a DNS name or an IP address, as @peculiar/x509 wants it. */
export function sanEntry(name: string): { type: 'dns' | 'ip'; value: string } {
  return IPV4.test(name) || name.includes(':') ? { type: 'ip', value: name } : { type: 'dns', value: name };
}
