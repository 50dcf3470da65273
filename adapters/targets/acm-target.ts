import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import type { CertificateBundle, DeploymentTarget } from '../../shared/ports.ts';

/** The tag a first import carries: the functions' roles may import again only over certificates that carry it. */
export const MANAGED_TAG = { Key: 'certops:managed', Value: 'true' };

/**
 * AWS Certificate Manager: ImportCertificate, and every later import into the same ARN, so the
 * load balancers and CloudFront distributions that use it rotate with no change on their side.
 * The first import is tagged certops:managed (ACM takes tags only on a first import).
 */
export class AcmTarget implements DeploymentTarget {
  constructor(private readonly client: ACMClient, private certificateArn: string | undefined, private readonly remember: (arn: string) => Promise<void>) {}

  private async importBundle(bundle: CertificateBundle): Promise<void> {
    const out = await this.client.send(new ImportCertificateCommand({
      CertificateArn: this.certificateArn,
      Certificate: Buffer.from(bundle.certificatePem),
      PrivateKey: Buffer.from(bundle.privateKeyPem),
      CertificateChain: bundle.chainPem ? Buffer.from(bundle.chainPem) : undefined,
      Tags: this.certificateArn ? undefined : [MANAGED_TAG],
    }));
    if (!this.certificateArn && out.CertificateArn) {
      this.certificateArn = out.CertificateArn;
      await this.remember(out.CertificateArn);
    }
  }

  deploy(bundle: CertificateBundle): Promise<void> {
    return this.importBundle(bundle);
  }

  async rollback(_expectCurrent: string, previous: CertificateBundle): Promise<boolean> {
    await this.importBundle(previous);
    return true;
  }
}
