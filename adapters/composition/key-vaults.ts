import type { KeyVault } from '../../shared/ports.ts';
import { certificateKeysOnly, eabKeysOnly } from '../../shared/certificate-key-vault.ts';
import { recordingCalls } from '../aws/call-recorder.ts';
import { SealedKeyVault } from '../vault/sealed-key-vault.ts';
import type { Base } from './base.ts';

/**
 * The key vault: keys sealed in the table under data keys that KMS wraps on AWS (the client is
 * loaded only there), a master key file locally.
 */
export function keyVaults(b: Base) {
  let vault: Promise<KeyVault> | undefined;
  async function dataKeys() {
    if (b.config.kmsKeyId) {
      const [{ KMSClient }, { KmsDataKeys }] = await Promise.all([import('@aws-sdk/client-kms'), import('../aws/kms-data-keys.ts')]);
      return new KmsDataKeys(recordingCalls(new KMSClient({}), 'kms'), b.config.kmsKeyId);
    }
    const { MasterKeyDataKeys } = await import('../local/master-key-data-keys.ts');
    return MasterKeyDataKeys.open(b.config.masterKeyFile);
  }
  const whole = (): Promise<KeyVault> => (vault ??= dataKeys().then((keys) => new SealedKeyVault(b.table, keys)));
  return {
    /** Every key, the CA's too: only the CA backends get this one. */
    whole,
    /** The vault as everything but the CA sees it: certificates' keys only. */
    keyVault: (): Promise<KeyVault> => whole().then(certificateKeysOnly),
    /** The ACME server's External Account Binding keys only. */
    eabKeys: (): Promise<KeyVault> => whole().then(eabKeysOnly),
  };
}
