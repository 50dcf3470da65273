import type { StoredCertificate } from './model.ts';
import { certificateKeyRef } from './certificate-key-vault.ts';
import { certificateRecord } from './x509/certificate-record.ts';
import { certificateBlocks } from './x509/pem.ts';

/** What the issuing side knows of a certificate besides the certificate itself. */
export interface Issuance {
  issuerBackend: string;
  profile: 'tls-server' | 'tls-client';
  targets: string[];
  environment?: string;
  owner?: string;
  requestId?: string;
  requestedBy?: string;
  renewalOf?: string;
  acmArn?: string;
  /** True when certops generated the key (it is in the vault under certificateKeyRef). */
  managedKey: boolean;
}

/**
 * The inventory record of a certificate certops just had signed: active, source `issued`, its
 * key (if certops made it) named by reference. Issuance and renewal write it themselves, so the
 * store says what was issued; the event that follows only tells.
 */
export function issuedCertificate(issued: { certificatePem: string; chainPem: string }, issuance: Issuance, now: Date): StoredCertificate {
  const record = certificateRecord(certificateBlocks(issued.certificatePem, 'certificate')[0]);
  const { managedKey, acmArn, ...fields } = issuance;
  return {
    ...record,
    ...fields,
    certificatePem: issued.certificatePem,
    chainPem: issued.chainPem,
    status: 'active',
    source: 'issued',
    sources: ['issued'],
    ...(acmArn ? { acmArns: [acmArn] } : {}),
    ...(managedKey ? { keyRef: certificateKeyRef(record.id) } : {}),
    createdAt: now.toISOString(),
  };
}
