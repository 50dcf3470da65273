import { createHash } from 'node:crypto';
import { children, oidString, readTlv } from '../x509/der.ts';
import { tlv } from '../x509/der-encode.ts';
import { OID } from '../x509/oids.ts';

/**
 * One identity for a precertificate and the certificate issued from it: the SHA-256 of the
 * TBSCertificate without the CT poison and SCT list extensions (the only parts that differ).
 * Takes a TBSCertificate or a whole certificate.
 */
export function tbsIdentity(der: Uint8Array, isCertificate: boolean): string {
  let tbsDer = der;
  if (isCertificate) {
    const tbs = children(der, readTlv(der, 0))[0];
    tbsDer = der.subarray(tbs.offset, tbs.end);
  }
  const tbs = readTlv(tbsDer, 0);
  const parts = children(tbsDer, tbs).map((p) => {
    if (p.tag !== 0xa3) return tbsDer.subarray(p.offset, p.end);
    const list = readTlv(tbsDer, p.start, 'tbs', p.end);
    const kept = children(tbsDer, list).filter((e) => {
      const id = oidString(tbsDer, children(tbsDer, e)[0]);
      return id !== OID.ctPoison && id !== OID.sctList;
    });
    return tlv(0xa3, tlv(0x30, ...kept.map((e) => tbsDer.subarray(e.offset, e.end))));
  });
  return createHash('sha256').update(tlv(0x30, ...parts)).digest('hex').slice(0, 32);
}
