import type { RevocationReason } from './crl-builder.ts';
import { children, derError, namedBits, readTlv, type Tlv } from './der.ts';
import { readName } from './distinguished-name.ts';
import { generalNameForm } from './general-names.ts';

/**
 * A DistributionPointName (RFC 5280 4.2.1.13, 5.2.5), as a certificate's cRLDistributionPoints and
 * a CRL's issuingDistributionPoint carry it: the fullName's URIs, and every other name in it
 * described for a reader, since certops can neither fetch from nor match those.
 */
export interface DistributionPointName {
  uris: string[];
  /** A directoryName or other non-URI fullName, or a nameRelativeToCRLIssuer. */
  others: string[];
}

function describeGeneralName(buf: Uint8Array, g: Tlv, field: string): string {
  if (g.tag !== 0xa4) return `a ${generalNameForm(g.tag)}`;
  return `the directoryName ${readName(buf, readTlv(buf, g.start, field, g.end), field).text}`;
}

/** Reads a DistributionPointName from its [0] wrapper: the name is a CHOICE, so it is tagged explicitly, and its own tag says which form it takes. */
export function readDistributionPointName(buf: Uint8Array, wrapper: Tlv, field: string): DistributionPointName {
  const name = readTlv(buf, wrapper.start, field, wrapper.end);
  if (name.tag === 0xa1) return { uris: [], others: ['a nameRelativeToCRLIssuer'] };
  if (name.tag !== 0xa0) throw derError(field, 'distributionPoint is neither fullName nor nameRelativeToCRLIssuer');
  const out: DistributionPointName = { uris: [], others: [] };
  for (const g of children(buf, name, field)) {
    if (g.tag === 0x86) out.uris.push(Buffer.from(buf.subarray(g.start, g.end)).toString('latin1'));
    else out.others.push(describeGeneralName(buf, g, field));
  }
  return out;
}

/** ReasonFlags (RFC 5280 4.2.1.13): bit n is the CRLReason n, except bit 0 (unused) and bit 7, privilegeWithdrawn; 8 aACompromise. */
const REASON_FLAG_BITS: (RevocationReason | undefined)[] = [undefined, 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'];

/**
 * RFC 5280 6.3.3's all-reasons: every reason ReasonFlags can name. A certificate is not revoked only
 * once the CRLs that do not list it together cover all of these (6.3.3 (i)).
 */
export const ALL_REASONS: readonly RevocationReason[] = REASON_FLAG_BITS.filter((r): r is RevocationReason => r !== undefined);

/** The reasons a ReasonFlags BIT STRING (its TLV) sets. */
export function reasonFlags(buf: Uint8Array, bits: Tlv): RevocationReason[] {
  return namedBits(buf, bits, REASON_FLAG_BITS);
}
