import { colonHex } from './certificate-record.ts';
import type { RevocationReason } from './crl-builder.ts';
import { children, derError, expectTlv, integerBytes, readStrictly, readTlv, signedParts, smallInteger, timeValue, type Tlv } from './der.ts';
import { readName } from './distinguished-name.ts';
import { extensionEntries, type ExtensionEntry } from './extensions.ts';
import { readDistributionPointName, reasonFlags, type DistributionPointName } from './distribution-point.ts';
import { OID } from './oids.ts';
import { algorithmKey, serialHex, signatureAlgorithmName } from './parse-certificate.ts';
import { revocationReasonName } from './revocation-status.ts';

/** One revokedCertificates entry (RFC 5280 5.1.2.6, 5.3). */
export interface RevokedCertificate {
  /** The userCertificate serial as ParsedCertificate.serialHex writes serials (sign kept), so the two compare exactly. */
  serialHex: string;
  revocationDate: Date;
  /** The reasonCode entry extension; `unspecified` when absent (RFC 5280 5.3.1). */
  reason: RevocationReason;
  invalidityDate?: Date;
}

/** The issuingDistributionPoint CRL extension (RFC 5280 5.2.5): which certificates and reasons the CRL covers. */
export interface IssuingDistributionPoint {
  /** The distribution point the CRL is for; absent, the CRL covers every distribution point of its issuer. */
  distributionPoint?: DistributionPointName;
  onlyContainsUserCerts: boolean;
  onlyContainsCACerts: boolean;
  /** The CRL lists only revocations for these reasons; absent, it lists every reason. */
  onlySomeReasons?: RevocationReason[];
  indirectCRL: boolean;
  onlyContainsAttributeCerts: boolean;
}

/** A CertificateList read from DER (RFC 5280 5.1), with the signed bytes chain-style checks need. */
export interface ParsedCrl {
  /** 1 or 2. */
  version: number;
  signatureAlgorithm: string;
  tbsDer: Uint8Array;
  signature: Uint8Array;
  /** RFC 4514 text, and the Name's DER for exact comparison with a certificate's issuer. */
  issuer: string;
  issuerDer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Every entry by serialHex. */
  revoked: Map<string, RevokedCertificate>;
  /** cRLNumber (RFC 5280 5.2.3) as upper-case hex. */
  crlNumber?: string;
  /** The authorityKeyIdentifier's keyIdentifier, as Extensions.subjectKeyId writes key ids. */
  authorityKeyId?: string;
  issuingDistributionPoint?: IssuingDistributionPoint;
}

const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex').toUpperCase();

/**
 * Reads a DER CRL strictly (RFC 5280 5.1-5.3): a structural fault, or anything RFC 5280 says makes
 * a CRL unusable, is a ValidationError on `field` naming the part: an unknown critical CRL
 * extension or entry extension (5.2, 5.3), a delta CRL (5.2.4: certops reads complete CRLs
 * only), an indirect CRL's certificateIssuer entries (5.3.3), a repeated extension, extensions in
 * a v1 CRL, mismatching signature algorithms, removeFromCRL in a complete CRL (5.3.1). Signature,
 * issuer and freshness are judged against an issuer by crlStatus, not here.
 */
export function parseCrl(der: Uint8Array, field = 'crl'): ParsedCrl {
  return readStrictly(field, () => parseStrictly(der, field));
}

function parseStrictly(der: Uint8Array, field: string): ParsedCrl {
  const { tbs, algorithm: outerAlg, signature } = signedParts(der, field, 'CertificateList', 'CertificateList (tbsCertList, signatureAlgorithm, signatureValue)');
  const parts = children(der, tbs, field);
  let i = 0;
  let version = 1;
  if (parts[0]?.tag === 0x02) {
    // Version OPTIONAL, present only as v2 (INTEGER 1) (RFC 5280 5.1.2.1).
    if (smallInteger(der, parts[0], field, 'version') !== 1) throw derError(field, 'version is neither absent (v1) nor v2');
    version = 2;
    i = 1;
  }
  const [innerAlg, issuer, thisUpdate] = parts.slice(i, i + 3);
  if (!thisUpdate || innerAlg.tag !== 0x30) throw derError(field, 'TBSCertList is incomplete');
  const algorithm = algorithmKey(der, outerAlg, field);
  if (algorithmKey(der, innerAlg, field) !== algorithm) throw derError(field, 'mismatching signature algorithm identifiers (RFC 5280 5.1.1.2)');
  const rest = parts.slice(i + 3);
  const nextUpdate = rest[0] && (rest[0].tag === 0x17 || rest[0].tag === 0x18) ? rest.shift() : undefined;
  const entries = rest[0]?.tag === 0x30 ? rest.shift() : undefined;
  const extensions = rest[0]?.tag === 0xa0 ? rest.shift() : undefined;
  if (rest.length) throw derError(field, `TBSCertList has an unexpected element (tag 0x${rest[0].tag.toString(16)})`);
  if (version < 2 && (extensions || hasEntryExtensions(der, entries, field))) throw derError(field, 'a v1 CRL cannot carry extensions (RFC 5280 5.1.2.1)');
  const crl: ParsedCrl = {
    version,
    signatureAlgorithm: signatureAlgorithmName(algorithm),
    tbsDer: der.subarray(tbs.offset, tbs.end),
    signature: der.subarray(signature.start + 1, signature.end),
    issuer: readName(der, issuer, `${field} issuer`).text,
    issuerDer: der.subarray(issuer.offset, issuer.end),
    thisUpdate: timeValue(der, thisUpdate, field, 'thisUpdate'),
    ...(nextUpdate ? { nextUpdate: timeValue(der, nextUpdate, field, 'nextUpdate') } : {}),
    revoked: new Map(),
  };
  if (extensions) readCrlExtensions(der, expectTlv(der, extensions.start, 0x30, field, 'crlExtensions', extensions.end), crl, field);
  for (const entry of entries ? children(der, entries, field) : []) {
    const revoked = readEntry(der, entry, field);
    // A serial listed twice is revoked either way; the first entry is kept.
    if (!crl.revoked.has(revoked.serialHex)) crl.revoked.set(revoked.serialHex, revoked);
  }
  return crl;
}

function hasEntryExtensions(buf: Uint8Array, entries: Tlv | undefined, field: string): boolean {
  return Boolean(entries && children(buf, entries, field).some((e) => children(buf, e, field).length > 2));
}

/** Each Extension once (RFC 5280 4.2, which 5.2 and 5.3 apply to CRLs). */
function uniqueEntries(buf: Uint8Array, list: Tlv, field: string): ExtensionEntry[] {
  const entries = extensionEntries(buf, list, field);
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.id)) throw derError(field, `extension ${e.id} appears more than once`);
    seen.add(e.id);
  }
  return entries;
}

function readCrlExtensions(buf: Uint8Array, list: Tlv, crl: ParsedCrl, field: string): void {
  for (const { id, critical, value } of uniqueEntries(buf, list, field)) {
    const where = `${field} extension ${id}`;
    switch (id) {
      case OID.authorityKeyIdentifier: {
        const keyId = children(buf, expectTlv(buf, value.start, 0x30, where, 'authorityKeyIdentifier', value.end), where).find((t) => t.tag === 0x80);
        if (keyId) crl.authorityKeyId = colonHex(hexOf(buf.subarray(keyId.start, keyId.end)));
        break;
      }
      case OID.cRLNumber:
        crl.crlNumber = hexOf(integerBytes(buf, readTlv(buf, value.start, where, value.end), where, 'cRLNumber'));
        break;
      case OID.issuingDistributionPoint:
        crl.issuingDistributionPoint = readIssuingDistributionPoint(buf, expectTlv(buf, value.start, 0x30, where, 'issuingDistributionPoint', value.end), where);
        break;
      case OID.deltaCRLIndicator:
        throw derError(where, 'is a delta CRL (RFC 5280 5.2.4); certops reads complete CRLs only');
      default:
        // issuerAltName, freshestCRL, authorityInfoAccess and the like say nothing about status (RFC 5280 5.2).
        if (critical) throw derError(where, 'is a critical CRL extension certops cannot process, so the CRL cannot be used (RFC 5280 5.2)');
    }
  }
}

/** [n] IMPLICIT BOOLEAN inside the issuingDistributionPoint. */
const flag = (buf: Uint8Array, t: Tlv) => t.end - t.start === 1 && buf[t.start] !== 0;

function readIssuingDistributionPoint(buf: Uint8Array, seq: Tlv, field: string): IssuingDistributionPoint {
  const idp: IssuingDistributionPoint = { onlyContainsUserCerts: false, onlyContainsCACerts: false, indirectCRL: false, onlyContainsAttributeCerts: false };
  for (const part of children(buf, seq, field)) {
    switch (part.tag) {
      case 0xa0: idp.distributionPoint = readDistributionPointName(buf, part, field); break;
      case 0x81: idp.onlyContainsUserCerts = flag(buf, part); break;
      case 0x82: idp.onlyContainsCACerts = flag(buf, part); break;
      case 0x83: idp.onlySomeReasons = reasonFlags(buf, part); break;
      case 0x84: idp.indirectCRL = flag(buf, part); break;
      case 0x85: idp.onlyContainsAttributeCerts = flag(buf, part); break;
      default: throw derError(field, `issuingDistributionPoint holds an unknown element (tag 0x${part.tag.toString(16)})`);
    }
  }
  if ([idp.onlyContainsUserCerts, idp.onlyContainsCACerts, idp.onlyContainsAttributeCerts].filter(Boolean).length > 1) {
    throw derError(field, 'issuingDistributionPoint sets more than one of onlyContainsUserCerts, onlyContainsCACerts and onlyContainsAttributeCerts (RFC 5280 5.2.5)');
  }
  return idp;
}

function readEntry(buf: Uint8Array, entry: Tlv, field: string): RevokedCertificate {
  const [serial, date, extensions, extra] = children(buf, entry, field);
  if (!serial || !date || extra || entry.tag !== 0x30) throw derError(field, 'malformed revokedCertificates entry');
  const serialText = serialHex(integerBytes(buf, serial, field, 'userCertificate'));
  const where = `${field} entry ${serialText}`;
  const revoked: RevokedCertificate = { serialHex: serialText, revocationDate: timeValue(buf, date, where, 'revocationDate'), reason: 'unspecified' };
  if (!extensions) return revoked;
  if (extensions.tag !== 0x30) throw derError(where, 'crlEntryExtensions is not a SEQUENCE');
  for (const { id, critical, value } of uniqueEntries(buf, extensions, where)) {
    const at = `${where} extension ${id}`;
    if (id === OID.reasonCode) {
      const code = expectTlv(buf, value.start, 0x0a, at, 'reasonCode', value.end);
      const reason = code.end - code.start === 1 ? revocationReasonName(buf[code.start]) : undefined;
      if (!reason) throw derError(at, 'reasonCode is not a CRLReason (RFC 5280 5.3.1)');
      // removeFromCRL belongs in delta CRLs, which undo an earlier entry; in a complete CRL it is contradictory.
      if (reason === 'removeFromCRL') throw derError(at, 'removeFromCRL appears only in delta CRLs (RFC 5280 5.3.1)');
      revoked.reason = reason;
    } else if (id === OID.invalidityDate) {
      revoked.invalidityDate = timeValue(buf, expectTlv(buf, value.start, 0x18, at, 'invalidityDate', value.end), at, 'invalidityDate');
    } else if (id === OID.certificateIssuer) {
      throw derError(at, 'names another certificate issuer: indirect CRLs are not processed (RFC 5280 5.3.3)');
    } else if (critical) {
      throw derError(at, 'is a critical CRL entry extension certops cannot process, so the CRL cannot be used (RFC 5280 5.3)');
    }
  }
  return revoked;
}
