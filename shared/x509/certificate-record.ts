import { X509Certificate, createHash } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { toPem } from './pem.ts';
import { signatureAlgorithmName } from './signature-algorithm.ts';

/** What certops knows of one certificate from its DER alone. */
export interface CertificateRecord {
  id: string;
  commonName?: string;
  subjectAlternativeNames: string[];
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  keyAlgorithm: string;
  signatureAlgorithm: string;
  selfSigned: boolean;
  certificatePem: string;
}

/** Colon-separated upper-case hex, the form CONTRACT.md uses for serials and fingerprints. */
export function colonHex(hex: string): string {
  return hex.toUpperCase().match(/../g)!.join(':');
}

/** A certificate's id is derived from its SHA-256 fingerprint, so the same certificate has one id everywhere. */
export function certificateId(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}

function distinguishedName(multiline: string): string {
  return multiline.split('\n').filter(Boolean).join(', ');
}

function sanList(x: X509Certificate): string[] {
  if (!x.subjectAltName) return [];
  return x.subjectAltName.split(', ').map((entry) => entry.replace(/^(DNS|IP Address|email|URI):/, ''));
}

function keyDescription(x: X509Certificate): string {
  const key = x.publicKey;
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `EC_${(d.namedCurve ?? 'unknown').replace(/^prime256v1$/, 'P256').replace(/^secp(\d+)r1$/, 'P$1')}`;
  if (key.asymmetricKeyType === 'rsa') return `RSA_${d.modulusLength}`;
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/** Parses one DER certificate; anything malformed is a ValidationError on `field`, never a partial record. */
export function certificateRecord(der: Uint8Array, field = 'certificate'): CertificateRecord {
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch (err) {
    throw new ValidationError(`${field} is not a parseable X.509 certificate: ${(err as Error).message}`, field);
  }
  const cn = x.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3);
  return {
    id: certificateId(der),
    commonName: cn,
    subjectAlternativeNames: sanList(x),
    subject: distinguishedName(x.subject),
    issuer: distinguishedName(x.issuer),
    serialNumber: colonHex(x.serialNumber.length % 2 ? `0${x.serialNumber}` : x.serialNumber),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprintSha256: x.fingerprint256,
    keyAlgorithm: keyDescription(x),
    signatureAlgorithm: signatureAlgorithmName(der),
    selfSigned: x.checkIssued(x) && x.verify(x.publicKey),
    certificatePem: toPem(der),
  };
}
