import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../../shared/errors.ts';
import type { KeyVault } from '../../shared/ports.ts';
import { getItem, type Table } from '../dynamodb/table.ts';

/**
 * The key vault on AWS: each private key sealed with AES-256-GCM under its own data key from KMS
 * (GenerateDataKey), the data key kept only wrapped by KMS, all in the table. The key reference
 * is the encryption context, so a sealed key moved to another reference does not open.
 */
export class KmsKeyVault implements KeyVault {
  constructor(private readonly kms: KMSClient, private readonly keyId: string, private readonly table: Table) {}

  async put(ref: string, privateKeyPem: string): Promise<void> {
    const dataKey = await this.kms.send(new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: { keyRef: ref } }));
    const plain = Buffer.from(dataKey.Plaintext!);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', plain, iv);
    cipher.setAAD(Buffer.from(ref));
    const data = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final()]);
    plain.fill(0);
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name,
      Item: { pk: `KEY#${ref}`, sk: 'KEY', wrappedKey: Buffer.from(dataKey.CiphertextBlob!).toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') },
    }));
  }

  async remove(ref: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: { pk: `KEY#${ref}`, sk: 'KEY' } }));
  }

  async get(ref: string): Promise<string> {
    const item = await getItem(this.table, { pk: `KEY#${ref}`, sk: 'KEY' });
    if (!item) throw new NotFoundError(`no key stored under ${ref}`, 'keyRef');
    const out = await this.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from(String(item.wrappedKey), 'base64'), KeyId: this.keyId, EncryptionContext: { keyRef: ref } }));
    const plain = Buffer.from(out.Plaintext!);
    const decipher = createDecipheriv('aes-256-gcm', plain, Buffer.from(String(item.iv), 'base64'));
    decipher.setAAD(Buffer.from(ref));
    decipher.setAuthTag(Buffer.from(String(item.tag), 'base64'));
    const pem = Buffer.concat([decipher.update(Buffer.from(String(item.data), 'base64')), decipher.final()]).toString('utf8');
    plain.fill(0);
    return pem;
  }
}
