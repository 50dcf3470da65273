import { CertopsError, ValidationError } from '../errors.ts';

/** One DER TLV: its tag, where it begins (the tag byte), where its value starts and where it ends (exclusive). */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/** Whether two encodings are the same bytes (how names and keys compare in path building and revocation checking). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** A malformed encoding; `field` names the input, the message what is wrong and where. */
export function derError(field: string, what: string): ValidationError {
  return new ValidationError(`${field}: ${what}`, field);
}

/**
 * Runs a strict reader over outside input: the typed errors it throws stand, and anything else
 * that makes the reading fail (a bounds error deep in a structure) becomes a parse error on `field`.
 */
export function readStrictly<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CertopsError) throw err;
    throw derError(field, `cannot be read: ${(err as Error).message}`);
  }
}

/**
 * The three parts of an X.509 SIGNED structure (RFC 5280 4.1 and 5.1: the signed data, the
 * signature algorithm, the signature BIT STRING), the whole of `der` and nothing after it.
 * @param name what the structure is called after it, and `shape` its parts, for the errors.
 */
export function signedParts(der: Uint8Array, field: string, name: string, shape: string): { tbs: Tlv; algorithm: Tlv; signature: Tlv } {
  if (der.length === 0) throw derError(field, 'is empty');
  if (der[0] !== 0x30) throw derError(field, 'does not start with a SEQUENCE (is it PEM or another format?)');
  const whole = readTlv(der, 0, field);
  if (whole.end !== der.length) throw derError(field, `has ${der.length - whole.end} bytes after the ${name}`);
  const [tbs, algorithm, signature, extra] = children(der, whole, field);
  if (!tbs || !algorithm || !signature || extra || tbs.tag !== 0x30 || algorithm.tag !== 0x30 || signature.tag !== 0x03) throw derError(field, `is not a ${shape}`);
  return { tbs, algorithm, signature };
}

/** Reads the TLV at `offset` under DER's rules: definite, minimally encoded lengths, inside the buffer (or `limit`). */
export function readTlv(buf: Uint8Array, offset: number, field = 'der', limit = buf.length): Tlv {
  if (offset + 2 > limit) throw derError(field, `truncated at byte ${offset}`);
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw derError(field, `multi-byte tag at byte ${offset} is not used in certificates`);
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw derError(field, `indefinite length at byte ${offset} (BER, not DER)`);
    if (n > 4 || start + n > limit) throw derError(field, `bad length at byte ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    if (len < 128 || buf[start] === 0) throw derError(field, `length at byte ${offset} is not minimally encoded`);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw derError(field, `length at byte ${offset} runs past the end`);
  return { tag, offset, start, end };
}

/** Reads a TLV that must carry `tag`. */
export function expectTlv(buf: Uint8Array, offset: number, tag: number, field: string, what: string, limit?: number): Tlv {
  if (buf[offset] !== tag) throw derError(field, `${what}: expected tag 0x${tag.toString(16)}, found 0x${(buf[offset] ?? 0).toString(16)} at byte ${offset}`);
  return readTlv(buf, offset, field, limit);
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv, field = 'der'): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(buf, at, field, parent.end);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

export function oidString(buf: Uint8Array, tlv: Tlv, field = 'der'): string {
  if (tlv.end === tlv.start) throw derError(field, 'zero length OBJECT IDENTIFIER');
  if (buf[tlv.end - 1] & 0x80) throw derError(field, 'truncated OBJECT IDENTIFIER');
  let out = '';
  let value = 0;
  let first = true;
  for (let i = tlv.start; i < tlv.end; i++) {
    if (value === 0 && buf[i] === 0x80) throw derError(field, 'OBJECT IDENTIFIER arc not minimally encoded');
    value = value * 128 + (buf[i] & 0x7f);
    if (buf[i] & 0x80) continue;
    if (first) {
      out = value < 80 ? `${Math.floor(value / 40)}.${value % 40}` : `2.${value - 80}`;
      first = false;
    } else {
      out += `.${value}`;
    }
    value = 0;
  }
  return out;
}

/** The bytes of a DER INTEGER, refusing non-minimal encodings. */
export function integerBytes(buf: Uint8Array, tlv: Tlv, field: string, what: string): Uint8Array {
  if (tlv.tag !== 0x02) throw derError(field, `${what} is not an INTEGER`);
  const len = tlv.end - tlv.start;
  if (len === 0) throw derError(field, `${what} is an empty INTEGER`);
  if (len > 1 && ((buf[tlv.start] === 0 && !(buf[tlv.start + 1] & 0x80)) || (buf[tlv.start] === 0xff && buf[tlv.start + 1] & 0x80))) {
    throw derError(field, `${what}: integer not minimally-encoded`);
  }
  return buf.subarray(tlv.start, tlv.end);
}

/** The names of the bits a named-bit BIT STRING (its TLV) sets: `names[i]` for bit i, counted from the first content octet's high bit; undefined names are skipped. */
export function namedBits<T>(buf: Uint8Array, bits: Tlv, names: readonly (T | undefined)[]): T[] {
  return names.filter((name, i): name is T => {
    const byte = bits.start + 1 + (i >> 3);
    return name !== undefined && byte < bits.end && (buf[byte] & (0x80 >> (i & 7))) !== 0;
  });
}

/** A BOOLEAN's value: one content octet (X.690 8.2.1); DER writes TRUE as 0xFF, and old encoders' other non-zero octets still read as true. */
export function booleanValue(buf: Uint8Array, tlv: Tlv, field: string, what: string): boolean {
  if (tlv.tag !== 0x01 || tlv.end - tlv.start !== 1) throw derError(field, `${what} is not a one-octet BOOLEAN`);
  return buf[tlv.start] !== 0;
}

export function smallInteger(buf: Uint8Array, tlv: Tlv, field: string, what: string): number {
  const bytes = integerBytes(buf, tlv, field, what);
  if (bytes.length > 4 || bytes[0] & 0x80) throw derError(field, `${what} is out of range`);
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A directory string or IA5String as text, checking each string type's alphabet. */
/**
 * A string value decoded by its ASN.1 type (RFC 5280 4.1.2.4 DirectoryString and the other string
 * types names use). A PrintableString holding printable ASCII outside its set (`*`, `@`, `_`, `&`,
 * as real CAs write them) is read, with a note in `notes` for the certificate's findings; control
 * characters and malformed lengths are DER errors.
 */
export function stringValue(buf: Uint8Array, tlv: Tlv, field: string, notes?: string[]): string {
  const bytes = buf.subarray(tlv.start, tlv.end);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      try {
        return utf8.decode(bytes);
      } catch {
        throw derError(field, 'invalid UTF8String');
      }
    case 0x13: { // PrintableString
      const s = Buffer.from(bytes).toString('latin1');
      if (PRINTABLE.test(s)) return s;
      if (!/^[\x20-\x7e]*$/.test(s)) throw derError(field, 'PrintableString contains invalid character');
      notes?.push(`${field}: a PrintableString holds ${[...new Set(s.replace(/[A-Za-z0-9 '()+,\-./:=?]/g, ''))].join(' ')}, outside its character set (X.680 41.4)`);
      return s;
    }
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString, read as Latin-1 as most software does
      return Buffer.from(bytes).toString('latin1');
    case 0x1e: { // BMPString, UTF-16 big-endian: two bytes a character
      if (bytes.length % 2 !== 0) throw derError(field, 'BMPString of an odd number of bytes');
      const swapped = Buffer.from(bytes);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case 0x1c: { // UniversalString, UTF-32 big-endian: four bytes a code point
      if (bytes.length % 4 !== 0) throw derError(field, 'UniversalString of a length that is not a multiple of four');
      const points = Array.from({ length: bytes.length / 4 }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset + i * 4, 4).getUint32(0));
      if (points.some((p) => p > 0x10ffff || (p >= 0xd800 && p <= 0xdfff))) throw derError(field, 'UniversalString holds a value that is no Unicode code point');
      return String.fromCodePoint(...points);
    }
    default:
      return Buffer.from(bytes).toString('hex');
  }
}

/**
 * UTCTime or GeneralizedTime as a Date. Besides DER's YYMMDDHHMMSSZ it accepts the forms old
 * embedded devices still serve (no seconds, a +hhmm offset), since a scan must inventory them too.
 */
export function timeValue(buf: Uint8Array, tlv: Tlv, field: string, what: string): Date {
  const s = Buffer.from(buf.subarray(tlv.start, tlv.end)).toString('latin1');
  const m = tlv.tag === 0x17
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/.exec(s)
    : tlv.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?(Z|[+-]\d{4})$/.exec(s) : null;
  if (!m) throw derError(field, `${what} is not a valid time (${JSON.stringify(s)})`);
  let year = Number(m[1]);
  if (tlv.tag === 0x17) year += year < 50 ? 2000 : 1900;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC would read years below 100 as 19xx
  // Date.UTC rolls an impossible field over (February 30th is March 2nd): a time that does not name itself is refused.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || date.getUTCHours() !== hour || date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second) {
    throw derError(field, `${what} is not a valid time (${JSON.stringify(s)})`);
  }
  let ms = date.getTime();
  if (m[7] !== 'Z') ms -= (m[7][0] === '-' ? -1 : 1) * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(3))) * 60_000;
  if (Number.isNaN(ms)) throw derError(field, `${what} is not a valid time (${JSON.stringify(s)})`);
  return new Date(ms);
}
