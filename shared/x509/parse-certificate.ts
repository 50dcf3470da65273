import { children, derError, integerBytes, oidString, readStrictly, readTlv, signedParts, smallInteger, timeValue, type Tlv } from './der.ts';
import { readName } from './distinguished-name.ts';
import { readExtensions, type Extensions } from './extensions.ts';
import { readPublicKey, type PublicKeyInfo } from './public-key.ts';
import { SIGNATURE_ALGORITHMS } from './oids.ts';

/** A certificate read from DER, with the byte ranges chain validation needs (signed part, signature, key). */
export interface ParsedCertificate {
  der: Uint8Array;
  version: number;
  serialHex: string;
  /** The serialNumber INTEGER's content octets as encoded (two's complement), for OCSP's CertID (RFC 6960 4.1.1). */
  serialBytes: Uint8Array;
  subject: string;
  issuer: string;
  subjectCommonNames: string[];
  /** The subject's emailAddress attributes: rfc822Name constraints bind them in a certificate without a subjectAltName (RFC 5280 4.2.1.10). */
  subjectEmailAddresses: string[];
  issuerCommonNames: string[];
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  publicKey: PublicKeyInfo;
  spkiDer: Uint8Array;
  signatureAlgorithm: string;
  tbsDer: Uint8Array;
  signature: Uint8Array;
  extensions: Extensions;
  /** What was read leniently rather than refused (strings outside their type's character set). */
  encodingNotes: string[];
}

/** The TBSCertificate's optional fields after subjectPublicKeyInfo, in their order: issuerUniqueID [1], subjectUniqueID [2], extensions [3]. */
const TBS_TAIL = [0x81, 0x82, 0xa3];

/** The algorithm an AlgorithmIdentifier names, with absent and NULL parameters treated alike (as Go's x509 does): `oid/paramsHex`. */
export function algorithmKey(buf: Uint8Array, alg: Tlv, field: string): string {
  const [oid, params] = children(buf, alg, field);
  if (!oid || oid.tag !== 0x06) throw derError(field, 'malformed AlgorithmIdentifier');
  const p = params && !(params.tag === 0x05 && params.end === params.start) ? Buffer.from(buf.subarray(params.offset, params.end)).toString('hex') : '';
  return `${oidString(buf, oid, field)}/${p}`;
}

/** The digests RSASSA-PSS parameters name (RFC 4055 2.1), by OID. */
const PSS_HASHES: Record<string, string> = { '1.3.14.3.2.26': 'SHA1', '2.16.840.1.101.3.4.2.1': 'SHA256', '2.16.840.1.101.3.4.2.2': 'SHA384', '2.16.840.1.101.3.4.2.3': 'SHA512' };

/**
 * certops' name of a signature algorithm (SIGNATURE_ALGORITHMS) from its algorithmKey, or its OID
 * when unnamed. RSASSA-PSS is named with its digest (`rsassaPss-with-SHA256`): absent, the
 * parameters' hashAlgorithm is SHA-1 (RFC 4055 3.1), which a name alone would hide.
 */
export function signatureAlgorithmName(algorithm: string): string {
  const id = algorithm.slice(0, algorithm.indexOf('/'));
  const name = SIGNATURE_ALGORITHMS[id] ?? id;
  return name === 'rsassaPss' ? `rsassaPss-with-${pssHash(Buffer.from(algorithm.slice(id.length + 1), 'hex'))}` : name;
}

/** The hashAlgorithm of DER RSASSA-PSS-params (RFC 4055 3.1: [0] AlgorithmIdentifier, SHA-1 when absent); `unknown` when unreadable. */
function pssHash(params: Uint8Array): string {
  try {
    if (params.length === 0) return 'SHA1';
    const seq = readTlv(params, 0, 'rsassaPss parameters');
    const hash = children(params, seq, 'rsassaPss parameters').find((t) => t.tag === 0xa0);
    if (!hash) return 'SHA1';
    const [oid] = children(params, readTlv(params, hash.start, 'hashAlgorithm', hash.end), 'hashAlgorithm');
    return PSS_HASHES[oidString(params, oid, 'hashAlgorithm')] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Reads one DER certificate strictly: any structural fault is a ValidationError on `field` saying
 * what and where, never a partial result. Signatures are not checked here (see chain validation).
 */
export function parseCertificate(der: Uint8Array, field = 'certificate'): ParsedCertificate {
  return readStrictly(field, () => parseStrictly(der, field));
}

function parseStrictly(der: Uint8Array, field: string): ParsedCertificate {
  const { tbs, algorithm: outerAlg, signature } = signedParts(der, field, 'certificate', 'Certificate (TBSCertificate, signatureAlgorithm, signature)');
  const parts = children(der, tbs, field);
  let i = 0;
  let version = 1;
  if (parts[0]?.tag === 0xa0) {
    version = smallInteger(der, readTlv(der, parts[0].start, field, parts[0].end), field, 'version') + 1;
    i = 1;
  }
  const [serial, innerAlg, issuer, validity, subject, spki] = parts.slice(i, i + 6);
  if (!spki) throw derError(field, 'TBSCertificate is incomplete');
  const algorithm = algorithmKey(der, outerAlg, field);
  if (algorithmKey(der, innerAlg, field) !== algorithm) throw derError(field, 'mismatching signature algorithm identifiers');
  const serialBytes = integerBytes(der, serial, field, 'serialNumber');
  if (validity.tag !== 0x30) throw derError(field, 'validity is not a SEQUENCE');
  const [nb, na] = children(der, validity, field);
  if (!nb || !na) throw derError(field, 'validity is incomplete');
  const rest = parts.slice(i + 6);
  // issuerUniqueID [1], subjectUniqueID [2], extensions [3]: each at most once, in that order (RFC 5280 4.1); parsers that pick another copy of a repeated field would read another certificate.
  const order = rest.map((t) => TBS_TAIL.indexOf(t.tag));
  if (order.some((at, k) => at < 0 || (k > 0 && at <= order[k - 1]))) throw derError(field, 'TBSCertificate has fields after subjectPublicKeyInfo other than issuerUniqueID, subjectUniqueID and extensions, once each in order');
  const extWrapper = rest.find((t) => t.tag === 0xa3);
  if (extWrapper && version < 3) throw derError(field, `a version ${version} certificate cannot carry extensions`);
  const encodingNotes: string[] = [];
  const subjectName = readName(der, subject, `${field} subject`, encodingNotes);
  const issuerName = readName(der, issuer, `${field} issuer`, encodingNotes);
  return {
    der,
    version,
    serialHex: serialHex(serialBytes),
    serialBytes,
    subject: subjectName.text,
    subjectCommonNames: subjectName.commonNames,
    subjectEmailAddresses: subjectName.emailAddresses,
    issuer: issuerName.text,
    issuerCommonNames: issuerName.commonNames,
    subjectDer: der.subarray(subject.offset, subject.end),
    issuerDer: der.subarray(issuer.offset, issuer.end),
    notBefore: timeValue(der, nb, field, 'notBefore'),
    notAfter: timeValue(der, na, field, 'notAfter'),
    publicKey: readPublicKey(der, spki, `${field} subjectPublicKeyInfo`),
    spkiDer: der.subarray(spki.offset, spki.end),
    signatureAlgorithm: signatureAlgorithmName(algorithm),
    tbsDer: der.subarray(tbs.offset, tbs.end),
    signature: der.subarray(signature.start + 1, signature.end),
    extensions: readExtensions(der, extWrapper, field),
    encodingNotes,
  };
}

/**
 * A serial number's INTEGER content as upper-case hex, without the sign byte DER may add. RFC 5280
 * 4.1.2.2 wants it positive, but asks users to handle negative ones gracefully: a negative serial
 * keeps its sign (`-` and its magnitude, as openssl prints it), so it never equals the positive
 * number with the same bytes.
 */
export function serialHex(serialBytes: Uint8Array): string {
  if (serialBytes[0] & 0x80) {
    let magnitude = 0n;
    for (const b of serialBytes) magnitude = (magnitude << 8n) | BigInt(b);
    magnitude = (1n << BigInt(8 * serialBytes.length)) - magnitude;
    const hex = magnitude.toString(16).toUpperCase();
    return `-${hex.length % 2 ? `0${hex}` : hex}`;
  }
  return Buffer.from(serialBytes[0] === 0 && serialBytes.length > 1 ? serialBytes.subarray(1) : serialBytes).toString('hex').toUpperCase();
}
