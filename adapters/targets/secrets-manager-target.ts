import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CertificateBundle, DeploymentTarget } from '../../shared/ports.ts';

/** AWS Secrets Manager: one secret holding certificate, chain and key, for instances and containers to read. */
export class SecretsManagerTarget implements DeploymentTarget {
  constructor(private readonly client: SecretsManagerClient, private readonly secretId: string) {}

  private async put(bundle: CertificateBundle): Promise<void> {
    const SecretString = JSON.stringify({ certificate: bundle.certificatePem, chain: bundle.chainPem, privateKey: bundle.privateKeyPem });
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString }));
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      await this.client.send(new CreateSecretCommand({ Name: this.secretId, SecretString, Description: 'TLS certificate, chain and key deployed by certops' }));
    }
  }

  deploy(bundle: CertificateBundle): Promise<void> {
    return this.put(bundle);
  }

  async rollback(_expectCurrent: string, previous: CertificateBundle): Promise<boolean> {
    await this.put(previous);
    return true;
  }
}
