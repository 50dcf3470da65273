import { domainToASCII } from 'node:url';
import { children, integerBytes, oidString, readTlv, stringValue, timeValue, type Tlv } from './der.ts';
import { colonHex } from './certificate-record.ts';
import { serialHex } from './parse-certificate.ts';
import { readName } from './distinguished-name.ts';

const CN = '2.5.4.3';
const SAN = '2.5.29.17';

/**
 * A host name as CT monitors compare it (as certspotter reads them): lower-cased, a trailing dot
 * dropped (such names are issued and must still be seen), Unicode in its IDNA A-label form.
 */
export function canonicalHostName(raw: string): string {
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (/^[\x21-\x7e]*$/.test(name)) return name;
  return domainToASCII(name) || name;
}

/**
 * The DNS names of a TBSCertificate, read straight from the DER without a full parse (the CT
 * hot path): dNSName SANs, and the subject CN when it looks like a host name, each decoded as the
 * rest of the X.509 code decodes its string type and canonicalised (canonicalHostName).
 */
export function tbsNames(tbs: Uint8Array): string[] {
  const fields = children(tbs, readTlv(tbs, 0, 'tbs'), 'tbs');
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  const names = new Set<string>();
  if (subject) for (const cn of commonNames(tbs, subject).map(canonicalHostName)) if (/^[*a-z0-9_-]+(\.[*a-z0-9_-]+)+$/.test(cn)) names.add(cn);
  const extensions = fields.find((f) => f.tag === 0xa3);
  if (extensions) for (const n of sanDnsNames(tbs, extensions)) names.add(canonicalHostName(n));
  return [...names];
}

/** The names of a whole certificate: its TBSCertificate is the first element. */
export function certificateNames(cert: Uint8Array): string[] {
  const tbs = children(cert, readTlv(cert, 0, 'certificate'), 'certificate')[0];
  return tbsNames(cert.subarray(tbs.offset, tbs.end));
}

/** A string value decoded as der.ts decodes it (BMPString UTF-16 big-endian, ...); one it refuses is no name. */
function text(buf: Uint8Array, tlv: Tlv): string | undefined {
  try {
    return tlv.tag === 0x82 ? Buffer.from(buf.subarray(tlv.start, tlv.end)).toString('latin1') : stringValue(buf, tlv, 'name');
  } catch {
    return undefined;
  }
}

function commonNames(buf: Uint8Array, name: Tlv): string[] {
  const out: string[] = [];
  for (const rdn of children(buf, name, 'subject')) {
    for (const atv of children(buf, rdn, 'subject')) {
      const [type, value] = children(buf, atv, 'subject');
      const cn = type && value && oidString(buf, type) === CN ? text(buf, value) : undefined;
      if (cn !== undefined) out.push(cn);
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
    return children(buf, names, 'subjectAltName').filter((g) => g.tag === 0x82).map((g) => text(buf, g)!);
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
