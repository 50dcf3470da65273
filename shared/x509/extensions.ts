import type { RevocationReason } from './crl-builder.ts';
import { booleanValue, children, derError, namedBits, expectTlv, oidString, readTlv, smallInteger, type Tlv } from './der.ts';
import { readDistributionPointName, reasonFlags, type DistributionPointName } from './distribution-point.ts';
import { addGeneralName, emptyNames, readGeneralNames, type GeneralNames } from './general-names.ts';
import { EXTENDED_KEY_USAGES, KEY_USAGES, OID } from './oids.ts';

/** One DistributionPoint of a certificate's cRLDistributionPoints (RFC 5280 4.2.1.13). */
export interface CrlDistributionPoint {
  /** Where its CRL is; absent when the point names only a cRLIssuer. */
  name?: DistributionPointName;
  /** The reasons its CRL covers; absent, every reason. */
  reasons?: RevocationReason[];
  /** It names a cRLIssuer: its CRL is signed by another than the certificate's issuer (an indirect CRL). */
  crlIssuer: boolean;
}

/** What certops reads from a certificate's extensions. */
export interface Extensions {
  san: GeneralNames;
  subjectKeyId?: string;
  authorityKeyId?: string;
  basicConstraints?: { ca: boolean; pathLength?: number };
  keyUsage?: string[];
  extendedKeyUsage?: string[];
  /** The URIs of every cRLDistributionPoints fullName, in order. */
  crlUrls: string[];
  crlDistributionPoints: CrlDistributionPoint[];
  ocspUrls: string[];
  caIssuersUrls: string[];
  sctCount: number;
  nameConstraints?: { permitted: GeneralNames; excluded: GeneralNames };
  precertificatePoison: boolean;
  /** policyConstraints' requireExplicitPolicy (RFC 5280 4.2.1.11): certificates below this many more in the path must carry an acceptable policy. */
  requireExplicitPolicy?: number;
  /** Critical extensions certops does not understand: a validator must refuse the certificate. */
  unhandledCritical: string[];
  /** Every extension present, by OID, in order. */
  present: string[];
  /** Every extension marked critical, by OID (RFC 5280 4.2 says which must and must not be). */
  critical: string[];
  /** Extensions that appear more than once, by OID (RFC 5280 4.2: "MUST NOT include more than one instance"). */
  duplicated: string[];
  /** Which fields the authorityKeyIdentifier carries (RFC 5280 4.2.1.1). */
  authorityKeyIdFields?: { keyIdentifier: boolean; authorityCertIssuer: boolean; authorityCertSerialNumber: boolean };
  /** Set when nameConstraints has neither permittedSubtrees nor excludedSubtrees, or one that is empty (RFC 5280 4.2.1.10). */
  emptyNameConstraints?: boolean;
}

const hex = (buf: Uint8Array, t: Tlv) => Buffer.from(buf.subarray(t.start, t.end)).toString('hex').toUpperCase().replace(/(..)(?=.)/g, '$1:');

/** DistributionPoint ::= SEQUENCE { distributionPoint [0], reasons [1] ReasonFlags, cRLIssuer [2] GeneralNames }, each OPTIONAL. */
function readDistributionPoint(buf: Uint8Array, point: Tlv, field: string): CrlDistributionPoint {
  if (point.tag !== 0x30) throw derError(field, 'DistributionPoint is not a SEQUENCE');
  const dp: CrlDistributionPoint = { crlIssuer: false };
  for (const part of children(buf, point, field)) {
    switch (part.tag) {
      case 0xa0: dp.name = readDistributionPointName(buf, part, field); break;
      case 0x81: dp.reasons = reasonFlags(buf, part); break;
      case 0xa2: dp.crlIssuer = true; break;
      default: throw derError(field, `DistributionPoint holds an unknown element (tag 0x${part.tag.toString(16)})`);
    }
  }
  return dp;
}

type Reader = (buf: Uint8Array, value: Tlv, ext: Extensions, field: string) => void;

const READERS: Record<string, Reader> = {
  [OID.subjectAltName]: (buf, v, ext, field) => {
    const names = readGeneralNames(buf, v.start, v.end, field);
    for (const k of ['dns', 'ip', 'email', 'uri', 'directoryNames', 'otherForms'] as const) ext.san[k].push(...names[k]);
  },
  [OID.subjectKeyIdentifier]: (buf, v, ext, field) => {
    ext.subjectKeyId = hex(buf, expectTlv(buf, v.start, 0x04, field, 'subjectKeyIdentifier', v.end));
  },
  [OID.authorityKeyIdentifier]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'authorityKeyIdentifier', v.end);
    const parts = children(buf, seq, field);
    const keyId = parts.find((t) => t.tag === 0x80);
    if (keyId) ext.authorityKeyId = hex(buf, keyId);
    ext.authorityKeyIdFields = { keyIdentifier: Boolean(keyId), authorityCertIssuer: parts.some((t) => t.tag === 0xa1), authorityCertSerialNumber: parts.some((t) => t.tag === 0x82) };
  },
  [OID.basicConstraints]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'basicConstraints', v.end);
    const parts = children(buf, seq, field);
    let ca = false;
    let i = 0;
    if (parts[0]?.tag === 0x01) {
      ca = booleanValue(buf, parts[0], field, 'cA');
      i = 1;
    }
    ext.basicConstraints = { ca, ...(parts[i] ? { pathLength: smallInteger(buf, parts[i], field, 'pathLenConstraint') } : {}) };
  },
  [OID.keyUsage]: (buf, v, ext, field) => {
    ext.keyUsage = namedBits(buf, expectTlv(buf, v.start, 0x03, field, 'keyUsage', v.end), KEY_USAGES);
  },
  [OID.extKeyUsage]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'extendedKeyUsage', v.end);
    const oids = children(buf, seq, field);
    if (oids.length === 0) throw derError(field, 'empty ExtendedKeyUsage');
    // Some real certificates repeat the extension; their usages are merged.
    ext.extendedKeyUsage = [...(ext.extendedKeyUsage ?? []), ...oids.map((o) => { const id = oidString(buf, o, field); return EXTENDED_KEY_USAGES[id] ?? id; })];
  },
  [OID.crlDistributionPoints]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'cRLDistributionPoints', v.end);
    for (const point of children(buf, seq, field)) {
      const dp = readDistributionPoint(buf, point, field);
      ext.crlDistributionPoints.push(dp);
      ext.crlUrls.push(...(dp.name?.uris ?? []));
    }
  },
  [OID.authorityInfoAccess]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'authorityInfoAccess', v.end);
    for (const desc of children(buf, seq, field)) {
      const [method, location] = children(buf, desc, field);
      if (!method || !location) throw derError(field, 'AccessDescription is incomplete');
      const names = emptyNames();
      addGeneralName(buf, location, names);
      const id = oidString(buf, method, field);
      if (id === OID.ocsp) ext.ocspUrls.push(...names.uri);
      else if (id === OID.caIssuers) ext.caIssuersUrls.push(...names.uri);
    }
  },
  [OID.subjectInfoAccess]: (buf, v, _ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'subjectInfoAccess', v.end);
    if (seq.end === seq.start) throw derError(field, 'empty SubjectInfoAccess');
  },
  [OID.sctList]: (buf, v, ext, field) => {
    const list = expectTlv(buf, v.start, 0x04, field, 'signedCertificateTimestampList', v.end);
    const total = (buf[list.start] << 8) | buf[list.start + 1];
    if (total !== list.end - list.start - 2) throw derError(field, 'SCT list length does not match its contents');
    let count = 0;
    for (let at = list.start + 2; at + 2 <= list.end; count++) at += 2 + ((buf[at] << 8) | buf[at + 1]);
    ext.sctCount = count;
  },
  [OID.nameConstraints]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'nameConstraints', v.end);
    const result = { permitted: emptyNames(), excluded: emptyNames() };
    const lists = children(buf, seq, field);
    if (lists.length === 0 || lists.some((l) => l.end === l.start)) ext.emptyNameConstraints = true;
    for (const subtrees of lists) {
      const into = subtrees.tag === 0xa0 ? result.permitted : subtrees.tag === 0xa1 ? result.excluded : undefined;
      if (!into) throw derError(field, 'nameConstraints holds an unknown element');
      for (const subtree of children(buf, subtrees, field)) {
        const base = readTlv(buf, subtree.start, field, subtree.end);
        addGeneralName(buf, base, into);
      }
    }
    ext.nameConstraints = result;
  },
  [OID.ctPoison]: (_buf, _v, ext) => {
    ext.precertificatePoison = true;
  },
  [OID.certificatePolicies]: () => undefined,
  // certops does no policy processing (as webpki does none): it reads whether the CA demands an explicit policy, which it then cannot confirm.
  [OID.policyConstraints]: (buf, v, ext, field) => {
    const seq = expectTlv(buf, v.start, 0x30, field, 'policyConstraints', v.end);
    const require = children(buf, seq, field).find((t) => t.tag === 0x80);
    if (require) ext.requireExplicitPolicy = smallInteger(buf, { ...require, tag: 0x02 }, field, 'requireExplicitPolicy');
  },
};

/** Reads the [3] extensions wrapper of a TBSCertificate (or nothing, for a v1 certificate). */
export function readExtensions(buf: Uint8Array, wrapper: Tlv | undefined, field: string): Extensions {
  return readExtensionList(buf, wrapper && expectTlv(buf, wrapper.start, 0x30, field, 'extensions', wrapper.end), field);
}

/** One Extension of a SEQUENCE OF Extension (RFC 5280 4.1): its OID, criticality and the extnValue OCTET STRING. */
export interface ExtensionEntry {
  id: string;
  critical: boolean;
  value: Tlv;
}

/**
 * The Extensions in `list` (a SEQUENCE OF Extension, as certificates, CRLs, CRL entries and OCSP
 * messages carry them), in order; a malformed Extension is a ValidationError on `field`.
 */
export function extensionEntries(buf: Uint8Array, list: Tlv, field: string): ExtensionEntry[] {
  return children(buf, list, field).map((e) => {
    const parts = children(buf, e, field);
    if (parts.length < 2 || parts.length > 3 || parts[0].tag !== 0x06) throw derError(field, 'malformed Extension');
    const id = oidString(buf, parts[0], field);
    if (parts.length === 3 && parts[1].tag !== 0x01) throw derError(field, 'malformed Extension');
    const critical = parts.length === 3 && booleanValue(buf, parts[1], field, `extension ${id} critical`);
    const value = parts[parts.length - 1];
    if (value.tag !== 0x04) throw derError(field, `extension ${id} value is not an OCTET STRING`);
    return { id, critical, value };
  });
}

/** Reads a SEQUENCE OF Extension (in a certificate, or a request's extensionRequest). */
export function readExtensionList(buf: Uint8Array, list: Tlv | undefined, field: string): Extensions {
  const ext: Extensions = { san: emptyNames(), crlUrls: [], crlDistributionPoints: [], ocspUrls: [], caIssuersUrls: [], sctCount: 0, precertificatePoison: false, unhandledCritical: [], present: [], critical: [], duplicated: [] };
  if (!list) return ext;
  const seen = new Set<string>();
  for (const { id, critical, value } of extensionEntries(buf, list, field)) {
    const reader = READERS[id];
    ext.present.push(id);
    if (critical) ext.critical.push(id);
    if (seen.has(id)) ext.duplicated.push(id);
    if (reader && !seen.has(id)) reader(buf, value, ext, `${field} extension ${id}`);
    else if (!reader && critical) ext.unhandledCritical.push(id);
    seen.add(id);
  }
  return ext;
}
