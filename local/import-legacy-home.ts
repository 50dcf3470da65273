import { createDecipheriv } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AuthorityStore, KeyVault } from '../shared/ports.ts';

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

/** The earlier file vault's sealing: AES-256-GCM, no additional data. */
function open(key: Buffer, sealed: Sealed): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]);
}

/**
 * A state folder from before the built-in CA and the key vault moved into the table (`ca/*.pem`,
 * `vault/<ref>.json` sealed under `master.key`): every key goes into the table's vault under the
 * reference it had, then the CA is recorded as the built-in CA with those keys (if none is), and
 * the folder is renamed `vault.imported`. A crash before the rename imports the same again.
 * Without such a folder, nothing. Returns the number of keys imported.
 */
export async function importLegacyHome(home: string, vault: KeyVault, authorities: AuthorityStore, now: Date): Promise<number> {
  const folder = join(home, 'vault');
  if (!existsSync(folder)) return 0;
  const master = Buffer.from(readFileSync(join(home, 'master.key'), 'utf8').trim(), 'base64');
  const files = readdirSync(folder).filter((f) => f.endsWith('.json'));
  for (const file of files) {
    const entry = JSON.parse(readFileSync(join(folder, file), 'utf8')) as { wrappedKey: Sealed; key: Sealed };
    await vault.put(file.slice(0, -'.json'.length).replaceAll('__', '/'), open(open(master, entry.wrappedKey), entry.key).toString('utf8'));
  }
  const [rootFile, intermediateFile] = ['root.pem', 'intermediate.pem'].map((f) => join(home, 'ca', f));
  if (existsSync(rootFile) && existsSync(intermediateFile) && files.includes('ca__intermediate.json') && !(await authorities.get('local'))) {
    await authorities.create({ name: 'local', rootPem: readFileSync(rootFile, 'utf8'), intermediatePem: readFileSync(intermediateFile, 'utf8'), rootKeyRef: 'ca/root', intermediateKeyRef: 'ca/intermediate', createdAt: now.toISOString() });
  }
  renameSync(folder, join(home, 'vault.imported'));
  return files.length;
}
