import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { bits, explicit, octets, oid, seq, set, smallInt, time, tlv, TRUE, unsignedInteger, utf8 } from './der-encode.ts';
import { OID } from './oids.ts';
import { subjectPublicKeyBits } from './public-key.ts';

export type Profile = 'tls-server' | 'tls-client';

export interface LeafSpec {
  serial: Uint8Array;
  /** The issuing CA's subject (DER, copied as it is) and key identifier. */
  issuerDer: Uint8Array;
  issuerKeyId: Uint8Array;
  /** The issuer's signature AlgorithmIdentifier (DER), repeated inside the TBS as RFC 5280 requires. */
  signatureAlgorithmDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  commonName: string;
  names: string[];
  spkiDer: Uint8Array;
  keyType: string;
  profile: Profile;
  crlUrl?: string;
  caIssuersUrl?: string;
}

const EKU = { 'tls-server': '1.3.6.1.5.5.7.3.1', 'tls-client': '1.3.6.1.5.5.7.3.2' };
const ext = (id: string, value: Uint8Array, critical = false) => seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

/** RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(spkiDer: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(spkiDer)).digest();
}

/** A subjectAltName entry (RFC 5280 4.2.1.6): iPAddress for IPv4 and IPv6 (as 4 or 16 bytes), dNSName otherwise. */
export function generalName(name: string): Buffer {
  if (isIP(name) === 4) return tlv(0x87, Buffer.from(name.split('.').map(Number)));
  if (isIP(name) === 6) {
    const hex = new URL(`http://[${name}]/`).hostname.slice(1, -1);
    const [head, tail = ''] = hex.split('::');
    const parts = (s: string) => (s ? s.split(':') : []);
    const groups = [...parts(head), ...Array(8 - parts(head).length - parts(tail).length).fill('0'), ...parts(tail)];
    return tlv(0x87, Buffer.from(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 255])));
  }
  return tlv(0x82, Buffer.from(name, 'latin1'));
}

/** The fields of any TBSCertificate certops signs; extensions already encoded. */
export interface TbsSpec {
  serial: Uint8Array;
  signatureAlgorithmDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subjectDer: Uint8Array;
  spkiDer: Uint8Array;
  extensions: Uint8Array[];
}

export function certificateTbs(t: TbsSpec): Buffer {
  return seq(
    explicit(0, smallInt(2)),
    unsignedInteger(t.serial),
    t.signatureAlgorithmDer,
    t.issuerDer,
    seq(time(t.notBefore), time(t.notAfter)),
    t.subjectDer,
    t.spkiDer,
    explicit(3, seq(...t.extensions)),
  );
}

const ATTRIBUTE_OIDS: Record<string, string> = { CN: OID.commonName, O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6' };

/** A Name from (attribute, value) pairs in order, values as UTF8String (PrintableString for C). */
export function nameDer(rdns: [keyof typeof ATTRIBUTE_OIDS | string, string][]): Buffer {
  return seq(...rdns.map(([attr, value]) => set(seq(oid(ATTRIBUTE_OIDS[attr] ?? attr), attr === 'C' ? tlv(0x13, Buffer.from(value)) : utf8(value)))));
}

/** Extensions of a CA certificate: CA:true with an optional path length, keyCertSign and cRLSign, key identifiers. */
export function caExtensions(spkiDer: Uint8Array, issuerKeyId: Uint8Array | undefined, pathLength?: number): Buffer[] {
  return [
    ext(OID.basicConstraints, seq(TRUE, ...(pathLength === undefined ? [] : [smallInt(pathLength)])), true),
    ext(OID.keyUsage, bits(Buffer.from([0x06]), 1), true),
    ext(OID.subjectKeyIdentifier, octets(keyIdentifier(spkiDer))),
    ...(issuerKeyId ? [ext(OID.authorityKeyIdentifier, seq(tlv(0x80, issuerKeyId)))] : []),
  ];
}

/** Extensions that are the same for every leaf of a CA, key type and profile: encoded once. */
const constantExtensions = new Map<string, Buffer[]>();

function leafConstants(spec: LeafSpec): Buffer[] {
  const id = `${spec.keyType}|${spec.profile}|${Buffer.from(spec.issuerKeyId).toString('hex')}|${spec.crlUrl}|${spec.caIssuersUrl}`;
  let parts = constantExtensions.get(id);
  if (!parts) {
    const rsa = spec.keyType === 'RSA';
    parts = [
      ext(OID.basicConstraints, seq(), true),
      ext(OID.keyUsage, bits(Buffer.from([rsa ? 0xa0 : 0x80]), rsa ? 5 : 7), true),
      ext(OID.extKeyUsage, seq(oid(EKU[spec.profile]))),
      ext(OID.authorityKeyIdentifier, seq(tlv(0x80, spec.issuerKeyId))),
      ...(spec.crlUrl ? [ext(OID.crlDistributionPoints, seq(seq(explicit(0, explicit(0, tlv(0x86, Buffer.from(spec.crlUrl)))))))] : []),
      ...(spec.caIssuersUrl ? [ext(OID.authorityInfoAccess, seq(seq(oid(OID.caIssuers), tlv(0x86, Buffer.from(spec.caIssuersUrl)))))] : []),
    ];
    if (constantExtensions.size > 64) constantExtensions.clear();
    constantExtensions.set(id, parts);
  }
  return parts;
}

/**
 * The TBSCertificate of a TLS leaf, encoded directly: SAN, SKI/AKI, key usage (digitalSignature,
 * plus keyEncipherment for RSA), extended key usage by profile, CA:false, CRL and AIA pointers.
 */
export function leafTbs(spec: LeafSpec): Buffer {
  const [basic, usage, extUsage, aki, ...pointers] = leafConstants(spec);
  const cn = subjectCommonName(spec);
  return certificateTbs({
    ...spec,
    subjectDer: nameDer(cn === undefined ? [] : [['CN', cn]]),
    extensions: [
      basic, usage, extUsage,
      // With an empty subject the SAN is the certificate's only name: then it must be critical (RFC 5280 4.2.1.6).
      ext(OID.subjectAltName, seq(...spec.names.map(generalName)), cn === undefined),
      ext(OID.subjectKeyIdentifier, octets(keyIdentifier(spec.spkiDer))),
      aki, ...pointers,
    ],
  });
}

/** RFC 5280 Appendix A.1: ub-common-name INTEGER ::= 64. */
const UB_COMMON_NAME = 64;

/**
 * The CN a leaf carries: the requested common name if it fits in 64 characters, else the first
 * requested name that does, else none (the names are all in the SAN, which is what clients match).
 */
export function subjectCommonName(spec: Pick<LeafSpec, 'commonName' | 'names'>): string | undefined {
  return [spec.commonName, ...spec.names].find((n) => n.length <= UB_COMMON_NAME);
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function assembleCertificate(tbs: Uint8Array, signatureAlgorithmDer: Uint8Array, signature: Uint8Array): Buffer {
  return seq(tbs, signatureAlgorithmDer, bits(signature));
}

