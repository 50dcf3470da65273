import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { FilesystemTarget } from '../../adapters/targets/filesystem-target.ts';

/** A rename onto this path fails as one onto an immutable file does (chattr +i); undefined lets every rename through. */
let renameRefusedOnto: string | undefined;
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const rename: typeof actual.rename = async (from, to) => {
    if (to === renameRefusedOnto) throw Object.assign(new Error(`EPERM: operation not permitted, rename '${from}' -> '${to}'`), { code: 'EPERM' });
    return actual.rename(from, to);
  };
  return { ...actual, rename };
});

const bundle = (n: number) => ({ certificatePem: `-----BEGIN CERTIFICATE-----\ncert ${n}\n-----END CERTIFICATE-----\n`, chainPem: `chain ${n}\n`, privateKeyPem: `key ${n}\n` });
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

/** The filesystem target as deployment and the renewal saga use it (handed ops cases 17 and 19). */
describe('filesystem target', () => {
  const root = mkdtempSync(join(tmpdir(), 'certops-fs-target-'));
  const fresh = (name: string) => {
    const dir = join(root, name);
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  };

  it('keeps the group and mode the operator gave the files it replaces, never giving others more than a new file has', async () => {
    if (process.getuid?.() !== 0) return;
    const dir = fresh('perms');
    const target = new FilesystemTarget(dir, [root]);
    await target.deploy(bundle(1));
    expect(statSync(join(dir, 'privkey.pem')).mode & 0o777).toBe(0o600);
    // The operator lets the service's group read the key, and (by mistake) lets everyone write fullchain.pem.
    chownSync(join(dir, 'privkey.pem'), 0, 65534);
    chmodSync(join(dir, 'privkey.pem'), 0o640);
    chmodSync(join(dir, 'fullchain.pem'), 0o666);
    await target.deploy(bundle(2));
    const key = statSync(join(dir, 'privkey.pem'));
    expect([key.gid, key.mode & 0o7777]).toEqual([65534, 0o640]);
    expect(statSync(join(dir, 'fullchain.pem')).mode & 0o777).toBe(0o664);
    expect(readFileSync(join(dir, 'privkey.pem'), 'utf8')).toBe('key 2\n');
  });

  it('changes the files of one deployment together or not at all, and leaves no temporary file', async () => {
    const dir = fresh('set');
    const target = new FilesystemTarget(dir, [root]);
    await target.deploy(bundle(1));
    // Something that is not a regular file where fullchain.pem goes: the set cannot be completed.
    const fullchain = join(dir, 'fullchain.pem');
    rmSync(fullchain);
    mkdirSync(fullchain);
    await expect(target.deploy(bundle(2))).rejects.toThrow(/not a regular file/);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(bundle(1).certificatePem);
    expect(readFileSync(join(dir, 'privkey.pem'), 'utf8')).toBe('key 1\n');
    expect(leftovers(dir)).toEqual([]);
    expect(leftovers(join(dir, 'previous'))).toEqual([]);
  });

  it('a deployment whose last rename fails removes the file it created and puts back the others as they were', async () => {
    const dir = fresh('created');
    const target = new FilesystemTarget(dir, [root]);
    await target.deploy(bundle(1));
    // The operator deleted fullchain.pem and let the key be read by its group; cert.pem (renamed last) cannot be replaced.
    rmSync(join(dir, 'fullchain.pem'));
    chmodSync(join(dir, 'privkey.pem'), 0o640);
    renameRefusedOnto = join(dir, 'cert.pem');
    try {
      await expect(target.deploy(bundle(2))).rejects.toThrow(/could not replace the files .*EPERM/);
    } finally {
      renameRefusedOnto = undefined;
    }
    expect(existsSync(join(dir, 'fullchain.pem'))).toBe(false);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(bundle(1).certificatePem);
    expect(readFileSync(join(dir, 'chain.pem'), 'utf8')).toBe('chain 1\n');
    expect(readFileSync(join(dir, 'privkey.pem'), 'utf8')).toBe('key 1\n');
    expect(statSync(join(dir, 'privkey.pem')).mode & 0o7777).toBe(0o640);
    expect(leftovers(dir)).toEqual([]);
  });

  it('a deployment killed while renaming its files runs again without copying the mixed set over the good previous one', async () => {
    const dir = fresh('torn');
    const target = new FilesystemTarget(dir, [root]);
    await target.deploy(bundle(1));
    // What deploy(bundle(2)) leaves when killed after renaming the key and before the certificate:
    // the good set copied to previous/, the marker naming bundle 2, the new key beside the old certificate, a staged file.
    mkdirSync(join(dir, 'previous'), { recursive: true });
    for (const f of ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']) writeFileSync(join(dir, 'previous', f), readFileSync(join(dir, f)));
    writeFileSync(join(dir, 'previous', 'deploying'), createHash('sha256').update(bundle(2).certificatePem.trim()).digest('hex'));
    writeFileSync(join(dir, 'privkey.pem'), bundle(2).privateKeyPem);
    writeFileSync(join(dir, 'cert.pem.0123456789abcdef.tmp'), bundle(2).certificatePem);
    await target.deploy(bundle(2));
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(bundle(2).certificatePem);
    expect(readFileSync(join(dir, 'previous', 'privkey.pem'), 'utf8')).toBe('key 1\n');
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(join(dir, 'previous', 'deploying'))).toBe(false);
    // Rolled back, the old certificate comes back with its own key.
    expect(await target.rollback(bundle(2).certificatePem, bundle(1))).toBe(true);
    expect([readFileSync(join(dir, 'cert.pem'), 'utf8'), readFileSync(join(dir, 'privkey.pem'), 'utf8')]).toEqual([bundle(1).certificatePem, 'key 1\n']);
  });

  it('runs a reload that failed again when the same deployment is retried, though the files already match', async () => {
    const dir = fresh('reload');
    const flag = join(root, 'reload-ok');
    const count = join(root, 'reloads');
    const target = new FilesystemTarget(dir, [root], `test -f ${flag} && echo x >> ${count}`);
    await expect(target.deploy(bundle(1))).rejects.toThrow(/reload command failed/);
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(bundle(1).certificatePem);
    writeFileSync(flag, '');
    await target.deploy(bundle(1));
    expect(readFileSync(count, 'utf8')).toBe('x\n');
    // Done now: a duplicate of the same deployment does not reload again.
    await target.deploy(bundle(1));
    expect(readFileSync(count, 'utf8')).toBe('x\n');
    expect(existsSync(join(dir, 'previous', 'reload-pending'))).toBe(false);
  });
});
