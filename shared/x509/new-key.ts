import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createCsr, generateKeyPair, privateKeyPem, spkiOf, type KeyAlgorithm } from './keys.ts';

/** What the signer needs of a key certops holds for a requester: its CSR (some CAs take only CSRs), public key and kind. */
export interface KeyMaterial {
  csrPem: string;
  spkiDer: Uint8Array;
  keyType: string;
  keyPem: string;
}

/** The CSR and public key of a key certops already holds (PKCS#8 PEM), e.g. one kept while its request is signed. */
export async function materialOf(alg: KeyAlgorithm, keyPem: string, commonName: string, names: string[]): Promise<KeyMaterial> {
  const privateKey = createPrivateKey(keyPem);
  const keys = { privateKey, publicKey: createPublicKey(privateKey) };
  return { csrPem: await createCsr(alg, keys, commonName, names), spkiDer: spkiOf(keys.publicKey), keyType: alg.startsWith('EC_') ? 'EC' : 'RSA', keyPem };
}

/** A key generated for the requester, with what the signer needs. */
export async function newKeyAndCsr(alg: KeyAlgorithm, commonName: string, names: string[]): Promise<KeyMaterial> {
  return materialOf(alg, privateKeyPem((await generateKeyPair(alg)).privateKey), commonName, names);
}
