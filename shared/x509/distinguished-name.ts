import { children, derError, oidString, stringValue, type Tlv } from './der.ts';
import { ATTRIBUTE_NAMES } from './oids.ts';

export interface DistinguishedName {
  /** RFC 4514-style text in encoded order: "CN=api.example.com, O=Example". */
  text: string;
  commonNames: string[];
  /** PKCS #9 emailAddress values (RFC 5280 4.1.2.6 legacy mailboxes in the subject). */
  emailAddresses: string[];
}

/** RFC 4514 escaping, plus control characters (a NUL in a name must not hide what follows it). */
function escape(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]|[ ]$/g, (c) => `\\${c}`)
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** A Name as text; `notes` collects what was read leniently (see stringValue). */
export function readName(buf: Uint8Array, name: Tlv, field: string, notes?: string[]): DistinguishedName {
  if (name.tag !== 0x30) throw derError(field, 'Name is not a SEQUENCE');
  const rdns: string[] = [];
  const commonNames: string[] = [];
  const emailAddresses: string[] = [];
  for (const rdn of children(buf, name, field)) {
    if (rdn.tag !== 0x31) throw derError(field, 'RelativeDistinguishedName is not a SET');
    const atvs = children(buf, rdn, field).map((atv) => {
      const [type, value] = children(buf, atv, field);
      if (!type || !value || type.tag !== 0x06) throw derError(field, 'malformed AttributeTypeAndValue');
      const oid = oidString(buf, type, field);
      const text = stringValue(buf, value, field, notes);
      if (oid === '2.5.4.3') commonNames.push(text);
      if (oid === '1.2.840.113549.1.9.1') emailAddresses.push(text);
      return `${ATTRIBUTE_NAMES[oid] ?? oid}=${escape(text)}`;
    });
    rdns.push(atvs.join('+'));
  }
  return { text: rdns.join(', '), commonNames, emailAddresses };
}
