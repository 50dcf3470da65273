import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { assembleCertificate, caExtensions, certificateTbs, keyIdentifier, leafTbs, nameDer } from '../../shared/x509/certificate-builder.ts';
import { children, readTlv } from '../../shared/x509/der.ts';
import { explicit, NULL, octets, oid, seq, TRUE } from '../../shared/x509/der-encode.ts';
import { signingAlgorithm } from '../../shared/x509/keys.ts';
import { OID } from '../../shared/x509/oids.ts';
import { precertExtraData, precertLeaf, x509ExtraData, x509Leaf } from '../../test/support/ct-test-log.ts';

/** The benchmark log's size and the watchlist both monitors are given. */
export const ENTRIES = 50_000;
export const WATCHED_DOMAIN = '.watched-bench.example';

/** 1% on watched names (half of them under a subdomain), 1% look-alikes that must not match, the rest unrelated. */
export function nameFor(i: number): { name: string; watched: boolean } {
  if (i % 100 === 7) return { name: i % 200 === 7 ? `w${i}.watched-bench.example` : 'watched-bench.example', watched: true };
  if (i % 100 === 13) return { name: [`watched-bench.example.evil${i}.test`, `xwatched-bench.example`, `w${i}.watched-bench.examples`][i % 3], watched: false };
  return { name: `h${i}.unrelated${i % 97}.test`, watched: false };
}

/** The indexes a correct monitor reports. */
export const watchedIndexes = (): number[] => Array.from({ length: ENTRIES }, (_, i) => i).filter((i) => nameFor(i).watched);

/** The TBSCertificate with the CT poison extension (RFC 6962 3.1) appended: what a CA signs as a precertificate. */
function poisoned(tbs: Buffer): Buffer {
  const parts = children(tbs, readTlv(tbs, 0));
  const extensions = parts[parts.length - 1];
  const list = readTlv(tbs, extensions.start);
  const poison = seq(oid(OID.ctPoison), TRUE, octets(NULL));
  return seq(...parts.slice(0, -1).map((p) => tbs.subarray(p.offset, p.end)), explicit(3, seq(tbs.subarray(list.start, list.end), poison)));
}

/**
 * The log's entries (MerkleTreeLeaf and extra_data, as a real log serves them, so that a monitor
 * that checks extra_data reads them too): a third precertificates, the rest certificates, all
 * signed by one CA whose certificate is the chain, subjects alternating EC and RSA keys, each
 * entry timestamped with its index.
 */
export function* benchEntries(): Generator<{ leaf: Buffer; extraData: Buffer }> {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
  const subjectKeys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('rsa', { modulusLength: 2048 })]
    .map((k) => ({ spki: k.publicKey.export({ type: 'spki', format: 'der' }), type: k.publicKey.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC' }));
  const { hash, algorithmDer } = signingAlgorithm('EC_P256');
  const signed = (tbs: Buffer) => assembleCertificate(tbs, algorithmDer, sign(hash, tbs, ca.privateKey));
  const issuer = nameDer([['CN', 'Bench CA']]);
  const year = 365 * 86_400_000;
  const caCert = signed(certificateTbs({ serial: randomBytes(16), signatureAlgorithmDer: algorithmDer, issuerDer: issuer, subjectDer: issuer, notBefore: new Date(Date.now() - year), notAfter: new Date(Date.now() + year), spkiDer: caSpki, extensions: caExtensions(caSpki, undefined) }));
  const issuerKeyHash = createHash('sha256').update(caSpki).digest();
  for (let i = 0; i < ENTRIES; i++) {
    const { name } = nameFor(i);
    const key = subjectKeys[i % 2];
    const tbs = leafTbs({ serial: randomBytes(16), issuerDer: issuer, issuerKeyId: keyIdentifier(caSpki), signatureAlgorithmDer: algorithmDer, notBefore: new Date(), notAfter: new Date(Date.now() + 90 * 86_400_000), commonName: name, names: [name], spkiDer: key.spki, keyType: key.type, profile: 'tls-server' });
    yield i % 3 === 0
      ? { leaf: precertLeaf(issuerKeyHash, tbs, i), extraData: precertExtraData(signed(poisoned(tbs)), [caCert]) }
      : { leaf: x509Leaf(signed(tbs), i), extraData: x509ExtraData([caCert]) };
  }
}
