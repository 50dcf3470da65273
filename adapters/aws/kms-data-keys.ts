import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DataKeys } from '../../shared/ports.ts';

/**
 * Data keys from KMS (GenerateDataKey, AES-256; Decrypt to unwrap), each bound to its key
 * reference by the encryption context `{ keyRef }`: the plaintext key never leaves this process.
 */
export class KmsDataKeys implements DataKeys {
  constructor(private readonly kms: KMSClient, private readonly keyId: string) {}

  async generate(ref: string): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    const out = await this.kms.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { keyRef: ref } }));
    return { plaintext: Buffer.from(out.Plaintext!), wrapped: Buffer.from(out.CiphertextBlob!) };
  }

  async unwrap(wrapped: Buffer, ref: string): Promise<Buffer> {
    const out = await this.kms.send(new DecryptCommand({ CiphertextBlob: wrapped, KeyId: this.keyId, EncryptionContext: { keyRef: ref } }));
    return Buffer.from(out.Plaintext!);
  }
}
