import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import type { KeyVault } from '../../shared/ports.ts';

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

function seal(key: Buffer, plain: Buffer): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

function open(key: Buffer, sealed: Sealed): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
}

/**
 * Envelope encryption on disk: each key is sealed with its own AES-256-GCM data key, and the data
 * key is sealed with the master key (a 0600 file), so one leaked entry file reveals nothing.
 */
export class FileKeyVault implements KeyVault {
  private constructor(private readonly dir: string, private readonly masterKey: Buffer) {}

  /** Opens the vault under `home`, creating the master key (0600) on first use. */
  static async open(home: string): Promise<FileKeyVault> {
    const dir = join(home, 'vault');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const masterPath = join(home, 'master.key');
    let master: Buffer;
    try {
      master = Buffer.from((await readFile(masterPath, 'utf8')).trim(), 'base64');
    } catch {
      master = randomBytes(32);
      await writeFile(masterPath, master.toString('base64'), { mode: 0o600, flag: 'wx' }).catch(async () => {
        master = Buffer.from((await readFile(masterPath, 'utf8')).trim(), 'base64');
      });
    }
    if (master.length !== 32) throw new ValidationError(`${masterPath} does not hold a 256-bit key`, 'masterKey');
    return new FileKeyVault(dir, master);
  }

  private path(ref: string): string {
    if (!/^[A-Za-z0-9._/-]+$/.test(ref) || ref.includes('..')) throw new ValidationError(`key reference ${JSON.stringify(ref)} is not allowed`, 'keyRef');
    return join(this.dir, `${ref.replaceAll('/', '__')}.json`);
  }

  async put(ref: string, privateKeyPem: string): Promise<void> {
    const dataKey = randomBytes(32);
    const entry = { wrappedKey: seal(this.masterKey, dataKey), key: seal(dataKey, Buffer.from(privateKeyPem)) };
    const path = this.path(ref);
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, path);
  }

  async remove(ref: string): Promise<void> {
    await rm(this.path(ref), { force: true });
  }

  async get(ref: string): Promise<string> {
    let raw: string;
    try {
      raw = await readFile(this.path(ref), 'utf8');
    } catch {
      throw new NotFoundError(`no key stored under ${ref}`, 'keyRef');
    }
    const entry = JSON.parse(raw) as { wrappedKey: Sealed; key: Sealed };
    return open(open(this.masterKey, entry.wrappedKey), entry.key).toString('utf8');
  }
}
