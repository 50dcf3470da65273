import { ValidationError } from '../errors.ts';

/** One DER TLV: its tag, where it begins (the tag byte), where its value starts and where it ends (exclusive). */
export interface Tlv {
  tag: number;
  offset: number;
  start: number;
  end: number;
}

/** Reads the TLV at `offset`; definite lengths only, as DER requires. */
export function readTlv(buf: Uint8Array, offset: number, field = 'der'): Tlv {
  if (offset + 2 > buf.length) throw new ValidationError(`${field}: truncated at byte ${offset}`, field);
  const tag = buf[offset];
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new ValidationError(`${field}: bad length at byte ${offset}`, field);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new ValidationError(`${field}: length runs past the end at byte ${offset}`, field);
  return { tag, offset, start, end };
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv, field = 'der'): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const tlv = readTlv(buf, at, field);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

export function oidString(buf: Uint8Array, tlv: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = value * 128 + (buf[i] & 0x7f);
    if (!(buf[i] & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}
