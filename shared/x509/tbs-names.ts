import { domainToASCII } from 'node:url';
import { children, integerBytes, oidString, readTlv, stringValue, timeValue, type Tlv } from './der.ts';
import { colonHex } from './certificate-record.ts';
import { serialHex } from './parse-certificate.ts';
import { readName } from './distinguished-name.ts';

const CN = '2.5.4.3';
const SAN = '2.5.29.17';

/**
 * A host name as CT monitors compare it (as certspotter reads them): lower-cased, every trailing
 * dot dropped (`a.example.com..` is issued too and must still be seen), Unicode in its IDNA
 * A-label form.
 */
export function canonicalHostName(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.+$/, '');
  if (/^[\x21-\x7e]*$/.test(name)) return name;
  return domainToASCII(name) || name;
}

/** A name with nothing to undo: lower-case letters, digits, `-`, `_`, `*` and inner dots only. */
const PLAIN_HOST_NAME = /^[a-z0-9_*-]+(\.[a-z0-9_*-]+)*$/;

/**
 * Every host name a CN or dNSName may be taken for, canonical: the value itself, without an
 * http(s):// prefix, and only its host when it is a URL (`https://a.example.com/path` names
 * a.example.com; the path names nothing, so `https://evil.test/a.example.com` names evil.test
 * only). A value with a NUL names its part before the NUL too: validators that stop there see it.
 */
export function hostNameSpellings(raw: string): string[] {
  // Nearly every name is already canonical: the CT hot path reads tens of thousands a second.
  if (PLAIN_HOST_NAME.test(raw)) return [raw];
  const value = raw.trim().replace(/^https?:\/\//i, '');
  const cut = value.indexOf('\0');
  const whole = cut < 0 ? [value] : [value.slice(0, cut), value];
  return [...new Set(whole.map((v) => canonicalHostName(v.split('/')[0])))];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text whose encoding is not known: a dNSName should be IA5 (ASCII) and a TeletexString is
 * Latin-1 in most software, but CAs put UTF-8 in both. ASCII is read as is; other bytes as UTF-8
 * when they are valid UTF-8 and as Latin-1 as well (as certspotter does): a watched U-label is
 * seen in either.
 */
export function textReadings(bytes: Uint8Array): string[] {
  const latin1 = Buffer.from(bytes).toString('latin1');
  if (/^[\x00-\x7f]*$/.test(latin1)) return [latin1];
  try {
    return [utf8.decode(bytes), latin1];
  } catch {
    return [latin1];
  }
}

/** String types whose bytes CAs fill in any encoding (textReadings): dNSName and TeletexString. */
const UNKNOWN_ENCODING = new Set([0x82, 0x14]);

/**
 * The DNS names of a TBSCertificate, read straight from the DER without a full parse (the CT
 * hot path): dNSName SANs, and the subject CN when it looks like a host name, each in all its
 * readings (texts) and spellings (hostNameSpellings).
 */
export function tbsNames(tbs: Uint8Array): string[] {
  const fields = children(tbs, readTlv(tbs, 0, 'tbs'), 'tbs');
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  const names = new Set<string>();
  if (subject) for (const cn of commonNames(tbs, subject).flatMap(hostNameSpellings)) if (/^[*a-z0-9_-]+(\.[*a-z0-9_-]+)+$/.test(cn)) names.add(cn);
  const extensions = fields.find((f) => f.tag === 0xa3);
  if (extensions) for (const n of sanDnsNames(tbs, extensions).flatMap(hostNameSpellings)) names.add(n);
  return [...names];
}

/** The names of a whole certificate: its TBSCertificate is the first element. */
export function certificateNames(cert: Uint8Array): string[] {
  const tbs = children(cert, readTlv(cert, 0, 'certificate'), 'certificate')[0];
  return tbsNames(cert.subarray(tbs.offset, tbs.end));
}

/**
 * A name value's text: each reading of one whose encoding is not known (textReadings), else as
 * der.ts decodes its type (BMPString UTF-16 big-endian, ...); a value der.ts refuses is no name.
 */
function texts(buf: Uint8Array, tlv: Tlv): string[] {
  if (UNKNOWN_ENCODING.has(tlv.tag)) return textReadings(buf.subarray(tlv.start, tlv.end));
  try {
    return [stringValue(buf, tlv, 'name')];
  } catch {
    return [];
  }
}

function commonNames(buf: Uint8Array, name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of children(buf, name, 'subject')) {
    for (const atv of children(buf, rdn, 'subject')) {
      const [type, value] = children(buf, atv, 'subject');
      if (type && value && oidString(buf, type) === CN) out.push(...texts(buf, value));
    }
  }
  return out;
}

function sanDnsNames(buf: Uint8Array, wrapper: Tlv): string[] {
  const list = children(buf, wrapper, 'extensions')[0];
  if (!list) return [];
  for (const ext of children(buf, list, 'extensions')) {
    const parts = children(buf, ext, 'extensions');
    if (oidString(buf, parts[0]) !== SAN) continue;
    const octets = parts[parts.length - 1];
    const names = readTlv(buf, octets.start, 'subjectAltName');
    return children(buf, names, 'subjectAltName').filter((g) => g.tag === 0x82).flatMap((g) => texts(buf, g));
  }
  return [];
}

export interface TbsFacts {
  /** RFC 4514 text. */
  issuer: string;
  /** As inventory records write it. */
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

/** Issuer, serial number and validity of a TBSCertificate, read directly from the DER. */
export function tbsFacts(tbs: Uint8Array): TbsFacts {
  const fields = children(tbs, readTlv(tbs, 0, 'tbs'), 'tbs');
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [notBefore, notAfter] = children(tbs, fields[offset + 3], 'validity').map((t, i) => timeValue(tbs, t, 'validity', i ? 'notAfter' : 'notBefore').toISOString());
  return { issuer: readName(tbs, fields[offset + 2], 'issuer').text, serialNumber: colonHex(serialHex(integerBytes(tbs, fields[offset], 'tbs', 'serialNumber'))), notBefore, notAfter };
}

/** The same of a whole certificate. */
export function certificateFacts(cert: Uint8Array): TbsFacts {
  const tbs = children(cert, readTlv(cert, 0, 'certificate'), 'certificate')[0];
  return tbsFacts(cert.subarray(tbs.offset, tbs.end));
}
