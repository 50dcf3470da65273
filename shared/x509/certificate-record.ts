import { createHash } from 'node:crypto';
import { sameBytes } from './der.ts';
import type { Extensions } from './extensions.ts';
import { parseCertificate, type ParsedCertificate } from './parse-certificate.ts';

/** What certops knows of one certificate from its DER alone: the normalised record, ready to store. */
export interface CertificateRecord extends Pick<Extensions,
  'subjectKeyId' | 'authorityKeyId' | 'basicConstraints' | 'keyUsage' | 'extendedKeyUsage' | 'crlUrls' | 'ocspUrls' | 'caIssuersUrls' | 'sctCount'> {
  id: string;
  version: number;
  commonName?: string;
  /** DNS names and IP addresses, as clients of the API expect them. */
  subjectAlternativeNames: string[];
  emailAddresses: string[];
  uris: string[];
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  fingerprintSha1: string;
  spkiSha256: string;
  keyAlgorithm: string;
  keyType: string;
  keySize?: number;
  curve?: string;
  signatureAlgorithm: string;
  selfSigned: boolean;
  /** What the parser read leniently rather than refused (a PrintableString outside its set, ...). */
  encodingNotes?: string[];
}

/** Colon-separated upper-case hex, the form CONTRACT.md uses for serials and fingerprints. */
/** Hex as colon-separated upper-case octets; a leading `-` (a negative serial) stays in front. */
export function colonHex(hex: string): string {
  const sign = hex.startsWith('-') ? '-' : '';
  const digits = hex.slice(sign.length);
  return sign + (digits.length % 2 ? `0${digits}` : digits).toUpperCase().replace(/(..)(?=.)/g, '$1:');
}

// crypto.hash (Node >= 20.12) is a one-shot digest without a Hash object: about twice as fast on small inputs.
const digest: (alg: string, data: Uint8Array) => string = (createHash as unknown as { hash?: unknown }).hash
  ? (alg, data) => (createHash as unknown as { hash: (a: string, d: Uint8Array, e: string) => string }).hash(alg, data, 'hex')
  : (alg, data) => createHash(alg).update(data).digest('hex');

/** A certificate's id is derived from its SHA-256 fingerprint, so the same certificate has one id everywhere. */
export function certificateId(der: Uint8Array): string {
  return digest('sha256', der).slice(0, 32);
}

/** The SHA-256 fingerprint as CONTRACT.md writes it. */
export function fingerprintSha256(der: Uint8Array): string {
  return colonHex(digest('sha256', der));
}

/** Issued by itself: same name, and, when both key identifiers are there, the same key. Signatures are chain validation's job. */
export function isSelfIssued(p: ParsedCertificate): boolean {
  const { subjectKeyId, authorityKeyId } = p.extensions;
  return sameBytes(p.subjectDer, p.issuerDer) && (!subjectKeyId || !authorityKeyId || subjectKeyId === authorityKeyId);
}

export function recordOf(p: ParsedCertificate): CertificateRecord {
  const sha256 = digest('sha256', p.der);
  const e = p.extensions;
  return {
    id: sha256.slice(0, 32),
    version: p.version,
    commonName: p.subjectCommonNames[0],
    subjectAlternativeNames: [...e.san.dns, ...e.san.ip],
    emailAddresses: e.san.email,
    uris: e.san.uri,
    subject: p.subject,
    issuer: p.issuer,
    serialNumber: colonHex(p.serialHex),
    notBefore: p.notBefore.toISOString(),
    notAfter: p.notAfter.toISOString(),
    fingerprintSha256: colonHex(sha256),
    fingerprintSha1: colonHex(digest('sha1', p.der)),
    spkiSha256: digest('sha256', p.spkiDer),
    keyAlgorithm: p.publicKey.algorithm,
    keyType: p.publicKey.type,
    keySize: p.publicKey.bits,
    curve: p.publicKey.curve,
    signatureAlgorithm: p.signatureAlgorithm,
    subjectKeyId: e.subjectKeyId,
    authorityKeyId: e.authorityKeyId,
    basicConstraints: e.basicConstraints,
    keyUsage: e.keyUsage,
    extendedKeyUsage: e.extendedKeyUsage,
    crlUrls: e.crlUrls,
    ocspUrls: e.ocspUrls,
    caIssuersUrls: e.caIssuersUrls,
    sctCount: e.sctCount,
    selfSigned: isSelfIssued(p),
    ...(p.encodingNotes.length ? { encodingNotes: p.encodingNotes } : {}),
  };
}

/** Parses one DER certificate into its record; anything malformed is a ValidationError on `field`. */
export function certificateRecord(der: Uint8Array, field = 'certificate'): CertificateRecord {
  return recordOf(parseCertificate(der, field));
}
