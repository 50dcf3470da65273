import type { RevocationReason } from './crl-builder.ts';
import { children, derError, expectTlv, integerBytes, oidString, readStrictly, readTlv, timeValue, type Tlv } from './der.ts';
import { extensionEntries } from './extensions.ts';
import { CERT_ID_HASHES, OID } from './oids.ts';
import type { CertId } from './ocsp-request.ts';
import { algorithmKey, parseCertificate, serialHex, signatureAlgorithmName, type ParsedCertificate } from './parse-certificate.ts';
import { revocationReasonName } from './revocation-status.ts';

/** OCSPResponseStatus (RFC 6960 4.2.1) by its ENUMERATED value; 4 is not used. */
const RESPONSE_STATUSES = ['successful', 'malformedRequest', 'internalError', 'tryLater', undefined, 'sigRequired', 'unauthorized'] as const;
export type OcspResponseStatus = NonNullable<(typeof RESPONSE_STATUSES)[number]>;

export type CertStatus =
  | { kind: 'good' }
  | { kind: 'revoked'; revocationTime: Date; reason: RevocationReason }
  | { kind: 'unknown' };

/** One SingleResponse (RFC 6960 4.2.1). */
export interface SingleResponse {
  /** Undefined when its hash algorithm is none certops knows: such a response is about no certificate certops asked for. */
  certId?: CertId;
  certStatus: CertStatus;
  thisUpdate: Date;
  nextUpdate?: Date;
}

/** ResponderID (RFC 6960 4.2.1): the responder's Name DER, or the SHA-1 of its public key's bits. */
export type ResponderId = { byName: Uint8Array } | { byKey: Buffer };

/** A BasicOCSPResponse (RFC 6960 4.2.1), with the signed bytes the signature covers. */
export interface BasicOcspResponse {
  tbsResponseData: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  responderId: ResponderId;
  producedAt: Date;
  responses: SingleResponse[];
  /** The nonce response extension's value (RFC 8954), when the responder sent one. */
  nonce?: Buffer;
  /** Certificates the responder sent to help verify its signature (a delegated responder's). */
  certs: ParsedCertificate[];
}

export interface ParsedOcspResponse {
  responseStatus: OcspResponseStatus;
  /** Present only when responseStatus is successful. */
  basic?: BasicOcspResponse;
}

/**
 * Reads a DER OCSPResponse (RFC 6960 4.2.1) strictly: a structural fault is a ValidationError on
 * `field` naming the part; so is a response type other than id-pkix-ocsp-basic, a version other
 * than v1, and an unknown critical response or single extension (RFC 6960 4.4). Signature, signer
 * and freshness are judged by ocspStatus, not here.
 */
export function parseOcspResponse(der: Uint8Array, field = 'ocsp response'): ParsedOcspResponse {
  return readStrictly(field, () => parseStrictly(der, field));
}

function parseStrictly(der: Uint8Array, field: string): ParsedOcspResponse {
  if (der.length === 0) throw derError(field, 'is empty');
  const outer = expectTlv(der, 0, 0x30, field, 'OCSPResponse');
  if (outer.end !== der.length) throw derError(field, `has ${der.length - outer.end} bytes after the OCSPResponse`);
  const [status, bytes] = children(der, outer, field);
  if (!status || status.tag !== 0x0a || status.end - status.start !== 1) throw derError(field, 'responseStatus is not an ENUMERATED');
  const responseStatus = RESPONSE_STATUSES[der[status.start]];
  if (!responseStatus) throw derError(field, `responseStatus ${der[status.start]} is not one RFC 6960 defines`);
  if (responseStatus !== 'successful') return { responseStatus };
  if (!bytes || bytes.tag !== 0xa0) throw derError(field, 'a successful response carries no responseBytes');
  const [type, response] = children(der, expectTlv(der, bytes.start, 0x30, field, 'ResponseBytes', bytes.end), field);
  if (!type || type.tag !== 0x06 || !response || response.tag !== 0x04) throw derError(field, 'malformed ResponseBytes');
  const typeOid = oidString(der, type, field);
  if (typeOid !== OID.ocspBasic) throw derError(field, `responseType ${typeOid} is not id-pkix-ocsp-basic`);
  return { responseStatus, basic: readBasic(der, expectTlv(der, response.start, 0x30, field, 'BasicOCSPResponse', response.end), field) };
}

function readBasic(buf: Uint8Array, basic: Tlv, field: string): BasicOcspResponse {
  const [data, alg, signature, certs] = children(buf, basic, field);
  if (!data || data.tag !== 0x30 || !alg || alg.tag !== 0x30 || !signature || signature.tag !== 0x03) throw derError(field, 'malformed BasicOCSPResponse');
  const parts = children(buf, data, field);
  let i = 0;
  if (parts[0]?.tag === 0xa0) {
    const version = readTlv(buf, parts[0].start, field, parts[0].end);
    if (version.tag !== 0x02 || version.end - version.start !== 1 || buf[version.start] !== 0) throw derError(field, 'ResponseData version is not v1');
    i = 1;
  }
  const [responder, producedAt, responses, extensions] = parts.slice(i);
  if (!responder || !producedAt || producedAt.tag !== 0x18 || !responses || responses.tag !== 0x30) throw derError(field, 'malformed ResponseData');
  const out: BasicOcspResponse = {
    tbsResponseData: buf.subarray(data.offset, data.end),
    signatureAlgorithm: signatureAlgorithmName(algorithmKey(buf, alg, field)),
    signature: buf.subarray(signature.start + 1, signature.end),
    responderId: readResponderId(buf, responder, field),
    producedAt: timeValue(buf, producedAt, field, 'producedAt'),
    responses: children(buf, responses, field).map((r) => readSingle(buf, r, field)),
    certs: certs ? readCerts(buf, certs, field) : [],
  };
  if (extensions) {
    if (extensions.tag !== 0xa1) throw derError(field, 'ResponseData has an unexpected element');
    for (const e of extensionEntries(buf, expectTlv(buf, extensions.start, 0x30, field, 'responseExtensions', extensions.end), field)) {
      if (e.id === OID.ocspNonce) out.nonce = nonceValue(buf, e.value);
      else if (e.critical) throw derError(`${field} extension ${e.id}`, 'is a critical response extension certops cannot process (RFC 6960 4.4)');
    }
  }
  return out;
}

/** The Nonce OCTET STRING inside the extension's value (RFC 8954); a value that is not one is taken whole, as some responders (RFC 2560 era) send it. */
function nonceValue(buf: Uint8Array, value: Tlv): Buffer {
  const raw = buf.subarray(value.start, value.end);
  try {
    const inner = readTlv(buf, value.start, 'nonce', value.end);
    if (inner.tag === 0x04 && inner.end === value.end) return Buffer.from(buf.subarray(inner.start, inner.end));
  } catch {
    // not DER: the raw bytes are the nonce
  }
  return Buffer.from(raw);
}

function readResponderId(buf: Uint8Array, t: Tlv, field: string): ResponderId {
  const inner = readTlv(buf, t.start, field, t.end);
  if (t.tag === 0xa1 && inner.tag === 0x30) return { byName: buf.subarray(inner.offset, inner.end) };
  if (t.tag === 0xa2 && inner.tag === 0x04) return { byKey: Buffer.from(buf.subarray(inner.start, inner.end)) };
  throw derError(field, 'ResponderID is neither byName nor byKey');
}

function readCerts(buf: Uint8Array, t: Tlv, field: string): ParsedCertificate[] {
  if (t.tag !== 0xa0) throw derError(field, 'BasicOCSPResponse has an unexpected element');
  const list = expectTlv(buf, t.start, 0x30, field, 'certs', t.end);
  return children(buf, list, field).map((c, i) => parseCertificate(buf.slice(c.offset, c.end), `${field} certificate ${i + 1}`));
}

function readCertId(buf: Uint8Array, t: Tlv, field: string): CertId | undefined {
  const [alg, nameHash, keyHash, serial] = children(buf, t, field);
  if (!alg || alg.tag !== 0x30 || nameHash?.tag !== 0x04 || keyHash?.tag !== 0x04 || !serial) throw derError(field, 'malformed CertID');
  const hashOid = children(buf, alg, field)[0];
  const hashAlgorithm = hashOid && CERT_ID_HASHES[oidString(buf, hashOid, field)];
  const serialText = serialHex(integerBytes(buf, serial, field, 'CertID serialNumber'));
  if (!hashAlgorithm) return undefined;
  return { hashAlgorithm, issuerNameHash: Buffer.from(buf.subarray(nameHash.start, nameHash.end)), issuerKeyHash: Buffer.from(buf.subarray(keyHash.start, keyHash.end)), serialHex: serialText };
}

function readSingle(buf: Uint8Array, single: Tlv, field: string): SingleResponse {
  const [certId, status, thisUpdate, ...rest] = children(buf, single, field);
  if (!certId || certId.tag !== 0x30 || !status || !thisUpdate || thisUpdate.tag !== 0x18) throw derError(field, 'malformed SingleResponse');
  const out: SingleResponse = { certId: readCertId(buf, certId, field), certStatus: readCertStatus(buf, status, field), thisUpdate: timeValue(buf, thisUpdate, field, 'thisUpdate') };
  for (const t of rest) {
    if (t.tag === 0xa0) out.nextUpdate = timeValue(buf, expectTlv(buf, t.start, 0x18, field, 'nextUpdate', t.end), field, 'nextUpdate');
    else if (t.tag === 0xa1) {
      const critical = extensionEntries(buf, expectTlv(buf, t.start, 0x30, field, 'singleExtensions', t.end), field).find((e) => e.critical);
      if (critical) throw derError(`${field} extension ${critical.id}`, 'is a critical single extension certops cannot process (RFC 6960 4.4)');
    } else throw derError(field, 'SingleResponse has an unexpected element');
  }
  return out;
}

function readCertStatus(buf: Uint8Array, t: Tlv, field: string): CertStatus {
  if (t.tag === 0x80 && t.end === t.start) return { kind: 'good' };
  if (t.tag === 0x82 && t.end === t.start) return { kind: 'unknown' };
  if (t.tag !== 0xa1) throw derError(field, 'certStatus is none of good, revoked, unknown');
  const [time, reason] = children(buf, t, field);
  if (!time || time.tag !== 0x18) throw derError(field, 'RevokedInfo has no revocationTime');
  let name: RevocationReason = 'unspecified';
  if (reason) {
    const code = expectTlv(buf, reason.start, 0x0a, field, 'revocationReason', reason.end);
    const named = reason.tag === 0xa0 && code.end - code.start === 1 ? revocationReasonName(buf[code.start]) : undefined;
    if (!named) throw derError(field, 'revocationReason is not a CRLReason (RFC 5280 5.3.1)');
    name = named;
  }
  return { kind: 'revoked', revocationTime: timeValue(buf, time, field, 'revocationTime'), reason: name };
}
