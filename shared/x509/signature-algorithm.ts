import { children, oidString, readTlv } from './der.ts';

const NAMES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
};

/** The outer signatureAlgorithm of a certificate (Node's X509Certificate does not expose it). */
export function signatureAlgorithmName(der: Uint8Array): string {
  const cert = readTlv(der, 0, 'certificate');
  const [, algorithm] = children(der, cert, 'certificate');
  const oid = oidString(der, children(der, algorithm, 'certificate')[0]);
  return NAMES[oid] ?? oid;
}
