import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { ValidationError } from '../../shared/errors.ts';
import type { DataKeys } from '../../shared/ports.ts';

/**
 * The local stand-in for KMS: data keys wrapped with AES-256-GCM under a master key kept in a
 * 0600 file (made on first use), the key reference as additional data. A wrapped key is
 * iv (12 bytes) | tag (16) | ciphertext.
 */
export class MasterKeyDataKeys implements DataKeys {
  private constructor(private readonly master: Buffer) {}

  /** Reads the master key at `path`, creating it if there is none (two first starts agree on one). */
  static async open(path: string): Promise<MasterKeyDataKeys> {
    const read = async () => Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
    let master: Buffer;
    try {
      master = await read();
    } catch {
      // Written whole under another name, then linked in: a reader never sees a half-written key,
      // and of two first starts the one that links second reads the other's.
      master = randomBytes(32);
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, master.toString('base64'), { mode: 0o600 });
      try {
        await link(tmp, path);
      } catch {
        master = await read();
      } finally {
        await rm(tmp, { force: true });
      }
    }
    if (master.length !== 32) throw new ValidationError(`${path} does not hold a 256-bit key`, 'masterKey');
    return new MasterKeyDataKeys(master);
  }

  async generate(ref: string): Promise<{ plaintext: Buffer; wrapped: Buffer }> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.master, iv).setAAD(Buffer.from(ref));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, wrapped: Buffer.concat([iv, cipher.getAuthTag(), data]) };
  }

  async unwrap(wrapped: Buffer, ref: string): Promise<Buffer> {
    const decipher = createDecipheriv('aes-256-gcm', this.master, wrapped.subarray(0, 12)).setAAD(Buffer.from(ref));
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }
}
