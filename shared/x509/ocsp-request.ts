import { createHash } from 'node:crypto';
import { NULL, explicit, octets, oid, seq, tlv } from './der-encode.ts';
import { OID } from './oids.ts';
import type { ParsedCertificate } from './parse-certificate.ts';
import { subjectPublicKeyBits } from './public-key.ts';

/** CertID (RFC 6960 4.1.1): which certificate a request or a SingleResponse is about. */
export interface CertId {
  /** node:crypto's name of the hash (sha1, sha256, ...). */
  hashAlgorithm: string;
  /** Hash of the issuer's Name DER, and of its subjectPublicKey BIT STRING's bits. */
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** As ParsedCertificate.serialHex writes serials. */
  serialHex: string;
}

/** The CertID of `certificate` issued by `issuer` under `hashAlgorithm` (a node:crypto name; SHA-1 by default, as RFC 5019 has responders expect). */
export function certIdOf(certificate: ParsedCertificate, issuer: ParsedCertificate, hashAlgorithm = 'sha1'): CertId {
  return {
    hashAlgorithm,
    issuerNameHash: createHash(hashAlgorithm).update(issuer.subjectDer).digest(),
    issuerKeyHash: createHash(hashAlgorithm).update(subjectPublicKeyBits(issuer.spkiDer)).digest(),
    serialHex: certificate.serialHex,
  };
}

/** Whether two CertIDs name the same certificate (same hash algorithm, hashes and serial). */
export function sameCertId(a: CertId, b: CertId): boolean {
  return a.hashAlgorithm === b.hashAlgorithm && a.serialHex === b.serialHex && a.issuerNameHash.equals(b.issuerNameHash) && a.issuerKeyHash.equals(b.issuerKeyHash);
}

/**
 * A DER OCSPRequest (RFC 6960 4.1.1) for one certificate: an unsigned v1 TBSRequest with one
 * Request whose CertID uses SHA-1, and, when `nonce` is given (1 to 32 bytes, RFC 8954), the nonce
 * request extension. The serial is copied as the certificate encodes it.
 */
export function ocspRequestDer(certificate: ParsedCertificate, issuer: ParsedCertificate, nonce?: Uint8Array): Buffer {
  const id = certIdOf(certificate, issuer);
  const certId = seq(seq(oid(OID.sha1), NULL), octets(id.issuerNameHash), octets(id.issuerKeyHash), tlv(0x02, certificate.serialBytes));
  const extensions = nonce ? [explicit(2, seq(seq(oid(OID.ocspNonce), octets(octets(nonce)))))] : [];
  return seq(seq(seq(seq(certId)), ...extensions));
}
