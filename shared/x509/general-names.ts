import { children, derError, readTlv, type Tlv } from './der.ts';

export interface GeneralNames {
  dns: string[];
  ip: string[];
  email: string[];
  uri: string[];
  /** directoryName values: each Name's DER, hex (RFC 5280 4.2.1.6). */
  directoryNames: string[];
  /** The forms certops does not read, by name (otherName, x400Address, ediPartyName, registeredID). */
  otherForms: string[];
}

export function emptyNames(): GeneralNames {
  return { dns: [], ip: [], email: [], uri: [], directoryNames: [], otherForms: [] };
}

const FORMS: Record<number, string> = {
  0xa0: 'otherName', 0x81: 'rfc822Name', 0x82: 'dNSName', 0xa3: 'x400Address', 0xa4: 'directoryName',
  0xa5: 'ediPartyName', 0x86: 'uniformResourceIdentifier', 0x87: 'iPAddress', 0x88: 'registeredID',
};

/** The GeneralName form a (context-specific) tag stands for (RFC 5280 4.2.1.6), by its ASN.1 name. */
export const generalNameForm = (tag: number) => FORMS[tag] ?? `tag 0x${tag.toString(16)}`;

const latin1 = (buf: Uint8Array, t: Tlv) => Buffer.from(buf.subarray(t.start, t.end)).toString('latin1');

/** An iPAddress value: 4 or 16 bytes, or (in name constraints) address and mask, 8 or 32 bytes. */
export function ipText(bytes: Uint8Array): string {
  const v4 = (b: Uint8Array) => Array.from(b).join('.');
  // RFC 5952 text (the longest run of zero groups shortened), as the WHATWG URL serialiser writes it.
  const v6 = (b: Uint8Array) => new URL(`http://[${Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':')}]/`).hostname.slice(1, -1);
  if (bytes.length === 4) return v4(bytes);
  if (bytes.length === 16) return v6(bytes);
  if (bytes.length === 8) return `${v4(bytes.subarray(0, 4))}/${v4(bytes.subarray(4))}`;
  if (bytes.length === 32) return `${v6(bytes.subarray(0, 16))}/${v6(bytes.subarray(16))}`;
  return `invalid:${Buffer.from(bytes).toString('hex')}`;
}

/** Adds one GeneralName to `out` (the forms certops does not read are only named). */
export function addGeneralName(buf: Uint8Array, t: Tlv, out: GeneralNames): void {
  switch (t.tag) {
    case 0x81: out.email.push(latin1(buf, t)); break;
    case 0x82: out.dns.push(latin1(buf, t)); break;
    case 0x86: out.uri.push(latin1(buf, t)); break;
    case 0x87: out.ip.push(ipText(buf.subarray(t.start, t.end))); break;
    // [4] EXPLICIT Name: the Name inside.
    case 0xa4: {
      const name = readTlv(buf, t.start, 'directoryName', t.end);
      out.directoryNames.push(Buffer.from(buf.subarray(name.offset, name.end)).toString('hex'));
      break;
    }
    default: out.otherForms.push(generalNameForm(t.tag)); break;
  }
}

/** A GeneralNames SEQUENCE starting at `offset`. */
export function readGeneralNames(buf: Uint8Array, offset: number, limit: number, field: string): GeneralNames {
  const seq = readTlv(buf, offset, field, limit);
  if (seq.tag !== 0x30) throw derError(field, 'GeneralNames is not a SEQUENCE');
  const out = emptyNames();
  for (const t of children(buf, seq, field)) addGeneralName(buf, t, out);
  return out;
}
