import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../../shared/errors.ts';
import type { DataKeys, KeyVault } from '../../shared/ports.ts';
import { getItem, type Table } from '../dynamodb/table.ts';

const item = (ref: string) => ({ pk: `KEY#${ref}`, sk: 'KEY' });

/**
 * The key vault of both runtimes: each private key sealed with AES-256-GCM under its own data key,
 * the data key kept only wrapped (by KMS on AWS, by the master key file locally), all in the
 * table. The reference is bound to both layers (KMS encryption context or wrapping AAD, and the
 * sealing AAD), so a sealed key copied under another reference does not open.
 */
export class SealedKeyVault implements KeyVault {
  constructor(private readonly table: Table, private readonly dataKeys: DataKeys) {}

  async put(ref: string, privateKeyPem: string): Promise<void> {
    const { plaintext, wrapped } = await this.dataKeys.generate(ref);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', plaintext, iv).setAAD(Buffer.from(ref));
    const data = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final()]);
    plaintext.fill(0);
    await this.table.doc.send(new PutCommand({
      TableName: this.table.name,
      Item: { ...item(ref), wrappedKey: wrapped.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') },
    }));
  }

  async remove(ref: string): Promise<void> {
    await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: item(ref) }));
  }

  async get(ref: string): Promise<string> {
    const sealed = await getItem(this.table, item(ref));
    if (!sealed) throw new NotFoundError(`no key stored under ${ref}`, 'keyRef');
    const plaintext = await this.dataKeys.unwrap(Buffer.from(String(sealed.wrappedKey), 'base64'), ref);
    const decipher = createDecipheriv('aes-256-gcm', plaintext, Buffer.from(String(sealed.iv), 'base64')).setAAD(Buffer.from(ref));
    decipher.setAuthTag(Buffer.from(String(sealed.tag), 'base64'));
    const pem = Buffer.concat([decipher.update(Buffer.from(String(sealed.data), 'base64')), decipher.final()]).toString('utf8');
    plaintext.fill(0);
    return pem;
  }
}
