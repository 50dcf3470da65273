import { createCsr, generateKeyPair, privateKeyPem, spkiOf, type KeyAlgorithm } from './keys.ts';

/** A key generated for the requester, with its CSR (some CAs take only CSRs) and what the signer needs. */
export async function newKeyAndCsr(alg: KeyAlgorithm, commonName: string, names: string[]): Promise<{ csrPem: string; spkiDer: Uint8Array; keyType: string; keyPem: string }> {
  const keys = await generateKeyPair(alg);
  return {
    csrPem: await createCsr(alg, keys, commonName, names),
    spkiDer: spkiOf(keys.publicKey),
    keyType: alg.startsWith('EC_') ? 'EC' : 'RSA',
    keyPem: privateKeyPem(keys.privateKey),
  };
}
