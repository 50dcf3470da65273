import type { AcmCertificate } from '../../adapters/aws/acm-certificates.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { announceDiscovery, type DiscoveryDeps } from './import-certificates.ts';
import { recordCertificate } from './record-certificate.ts';

export interface AcmSyncResult {
  region: string;
  certificates: number;
  newCertificates: number;
  rejected: { arn: string; reason: string }[];
}

/** Puts every certificate of one ACM region in the inventory, with its ARN; a repeated sync adds nothing. */
export async function syncAcm(region: string, source: AsyncIterable<AcmCertificate>, deps: DiscoveryDeps): Promise<AcmSyncResult> {
  const result: AcmSyncResult = { region, certificates: 0, newCertificates: 0, rejected: [] };
  for await (const acm of source) {
    try {
      const der = certificateBlocks(acm.certificatePem, `${acm.arn} certificate`)[0];
      const sighting = { source: 'acm' as const, acmArn: acm.arn, chainPem: acm.chainPem };
      const { certificate, created } = await recordCertificate(der, sighting, deps, acm.arn);
      result.certificates++;
      if (created) {
        result.newCertificates++;
        await announceDiscovery(certificate, sighting, deps);
      }
    } catch (err) {
      if ((err as { status?: number }).status !== 400) throw err;
      result.rejected.push({ arn: acm.arn, reason: (err as Error).message });
    }
  }
  return result;
}
