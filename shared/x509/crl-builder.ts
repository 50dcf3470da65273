import { explicit, octets, oid, seq, smallInt, time, tlv, unsignedInteger } from './der-encode.ts';
import { OID } from './oids.ts';

/** RFC 5280 CRLReason codes by name, as POST /certificates/{id}/revoke takes them. */
export const REVOCATION_REASONS = {
  unspecified: 0, keyCompromise: 1, cACompromise: 2, affiliationChanged: 3, superseded: 4,
  cessationOfOperation: 5, certificateHold: 6, removeFromCRL: 8, privilegeWithdrawn: 9, aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export interface RevokedEntry {
  /** Colon-separated hex, as certops writes serials. */
  serialNumber: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlSpec {
  issuerDer: Uint8Array;
  issuerKeyId: Uint8Array;
  signatureAlgorithmDer: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  entries: RevokedEntry[];
}

/** TBSCertList v2 with the reason of each entry, the CRL number and the issuer's key identifier. */
export function crlTbs(spec: CrlSpec): Buffer {
  const entries = spec.entries.map((e) => seq(
    unsignedInteger(Buffer.from(e.serialNumber.replaceAll(':', ''), 'hex')),
    time(e.revokedAt),
    // unspecified is expressed by leaving the reason out (RFC 5280 5.3.1).
    ...(e.reason === 'unspecified' ? [] : [seq(seq(oid('2.5.29.21'), octets(tlv(0x0a, Buffer.from([REVOCATION_REASONS[e.reason]])))))]),
  ));
  return seq(
    smallInt(1),
    spec.signatureAlgorithmDer,
    spec.issuerDer,
    time(spec.thisUpdate),
    time(spec.nextUpdate),
    ...(entries.length ? [seq(...entries)] : []),
    explicit(0, seq(
      seq(oid(OID.authorityKeyIdentifier), octets(seq(tlv(0x80, spec.issuerKeyId)))),
      seq(oid('2.5.29.20'), octets(smallInt(spec.crlNumber))),
    )),
  );
}
