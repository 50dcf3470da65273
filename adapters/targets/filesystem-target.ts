import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { StepError } from '../../shared/errors.ts';
import type { CertificateBundle, DeploymentTarget } from '../../shared/ports.ts';
import { readRegular, replaceFileSet, type SetFile } from './file-set.ts';

const FILES = { certificatePem: 'cert.pem', chainPem: 'chain.pem', fullchain: 'fullchain.pem', privateKeyPem: 'privkey.pem' } as const;
const RELOAD_TIMEOUT_MS = 30_000;
/** A file replaceFileSet staged: `<name>.<16 hex>.tmp`. */
const STAGED = /^(cert|chain|fullchain|privkey)\.pem\.[0-9a-f]{16}\.tmp$|^(reload-pending|deploying)\.[0-9a-f]{16}\.tmp$/;
/** What a reload command sees of the environment: enough to find programs, none of the suite's secrets or credentials. */
const RELOAD_ENVIRONMENT = ['PATH', 'LANG', 'LC_ALL', 'TZ'];

function runReload(command: string): Promise<void> {
  const env = Object.fromEntries(RELOAD_ENVIRONMENT.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]!]])));
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: RELOAD_TIMEOUT_MS, env }, (err, _stdout, stderr) => {
      if (err) reject(new StepError('deploy', `reload command failed: ${(stderr || err.message).trim().slice(0, 500)}`));
      else resolve();
    });
  });
}

/**
 * Refuses a directory that is not, once links are followed, inside one of the allowed roots (a
 * link made after registration must not lead the keys elsewhere), that is a link itself, or
 * that another user owns or may write to; and one that any folder above it lets another user
 * change (owned by someone other than this user or root, or writable by others without the
 * sticky bit): whoever can rename a folder on the way can swap where the keys land.
 */
export async function confinedDirectory(dir: string, allowedRoots: string[]): Promise<void> {
  const real = async (path: string): Promise<string> => realpath(path).catch(async (err) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
    return join(await real(dirname(path)), basename(path));
  });
  const [directory, ...roots] = await Promise.all([dir, ...allowedRoots].map(real));
  if (!roots.some((root) => directory === root || directory.startsWith(`${root}${sep}`))) {
    throw new StepError('deploy', `${dir} leads to ${directory}, outside the allowed roots (deployment.allowedRoots)`);
  }
  const uid = process.getuid?.();
  for (let above = dirname(dir); ; above = dirname(above)) {
    const st = await lstat(above).catch(() => undefined);
    if (st && ((st.uid !== uid && st.uid !== 0) || ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0))) {
      throw new StepError('deploy', `${above}, above ${dir}, belongs to user ${st.uid} or lets others change it (mode ${(st.mode & 0o7777).toString(8)})`);
    }
    if (above === dirname(above)) break;
  }
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new StepError('deploy', `${dir} is not a directory (a symbolic link is not followed)`);
  if (st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new StepError('deploy', `${dir} must belong to the user certops runs as and be writable by no one else (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
  }
}

/**
 * Certificate, chain, full chain and key (0600) in a directory, each written atomically (write,
 * then rename), with the version it replaces kept in `previous/` for rollback. Nothing there is
 * trusted to be what its name says: links are never followed, and the directory must be this
 * process's own, writable by no one else.
 */
export class FilesystemTarget implements DeploymentTarget {
  constructor(private readonly directory: string, private readonly roots: string[], private readonly reloadCommand?: string) {}

  private confined(dir: string): Promise<void> {
    return confinedDirectory(dir, this.roots);
  }

  /** Makes the directory and its previous/ (0700), checking each as it goes. */
  private async prepare(): Promise<void> {
    await this.confined(this.directory);
    await mkdir(join(this.directory, 'previous'), { recursive: true, mode: 0o700 });
    await this.confined(this.directory);
    await this.confined(join(this.directory, 'previous'));
    // What a process killed while writing left behind (file-set.ts names its files so).
    for (const dir of [this.directory, join(this.directory, 'previous')]) {
      for (const name of await readdir(dir)) if (STAGED.test(name)) await unlink(join(dir, name)).catch(() => undefined);
    }
  }

  /** The certificate PEM the directory serves now, or undefined. */
  current(): Promise<string | undefined> {
    return readRegular(join(this.directory, FILES.certificatePem));
  }

  /**
   * Writes the bundle; deploying what is already there changes nothing (and keeps the real previous
   * version), except that a reload that failed after the files were written is run again.
   */
  async deploy(bundle: CertificateBundle): Promise<void> {
    await this.prepare();
    const current = await this.current();
    if (current?.trim() === bundle.certificatePem.trim()) {
      if (await readRegular(this.reloadPending)) await this.reload();
      return;
    }
    // A deployment killed while renaming leaves a mixed set (the new key beside the old certificate):
    // the one that runs again must keep the good copy it made in previous/, not copy the mixed set over it.
    const deploying = createHash('sha256').update(bundle.certificatePem.trim()).digest('hex');
    const resumed = (await readRegular(this.deployingMarker))?.trim() === deploying;
    if (current && !resumed) {
      const kept: SetFile[] = [];
      for (const file of Object.values(FILES)) {
        const content = await readRegular(join(this.directory, file));
        if (content !== undefined) kept.push({ name: file, content, mode: file === FILES.privateKeyPem ? 0o600 : 0o644 });
      }
      await replaceFileSet(join(this.directory, 'previous'), kept);
    }
    if (!resumed) await replaceFileSet(join(this.directory, 'previous'), [{ name: 'deploying', content: deploying, mode: 0o600 }]);
    await this.write(bundle);
    await unlink(this.deployingMarker).catch(() => undefined);
  }

  /** Names the bundle being written while its files are replaced (see deploy). */
  private get deployingMarker(): string {
    return join(this.directory, 'previous', 'deploying');
  }

  /** Puts back the version kept in previous/ (what the directory really held), else `previous`; false when the new one is not there. */
  async rollback(expectCurrent: string, previous: CertificateBundle): Promise<boolean> {
    await this.prepare();
    const current = await this.current();
    if (current?.trim() !== expectCurrent.trim()) return false;
    const prev = (file: string) => readRegular(join(this.directory, 'previous', file));
    const [certificatePem, chainPem, privateKeyPem] = await Promise.all([prev(FILES.certificatePem), prev(FILES.chainPem), prev(FILES.privateKeyPem)]);
    await this.write(certificatePem && privateKeyPem ? { certificatePem, chainPem: chainPem ?? '', privateKeyPem } : previous);
    return true;
  }

  /** Marks a reload owed until it succeeds: a retry of the same deployment runs it again. */
  private get reloadPending(): string {
    return join(this.directory, 'previous', 'reload-pending');
  }

  private async reload(): Promise<void> {
    if (!this.reloadCommand) return;
    await runReload(this.reloadCommand);
    await unlink(this.reloadPending).catch(() => undefined);
  }

  private async write(bundle: CertificateBundle): Promise<void> {
    if (this.reloadCommand) await replaceFileSet(join(this.directory, 'previous'), [{ name: 'reload-pending', content: new Date().toISOString(), mode: 0o600 }]);
    // One set, replaced together; the certificate is renamed last, so current() reports the new version only once every file is in place.
    await replaceFileSet(this.directory, [
      { name: FILES.privateKeyPem, content: bundle.privateKeyPem, mode: 0o600 },
      { name: FILES.chainPem, content: bundle.chainPem, mode: 0o644 },
      { name: FILES.fullchain, content: bundle.certificatePem.trimEnd() + '\n' + bundle.chainPem, mode: 0o644 },
      { name: FILES.certificatePem, content: bundle.certificatePem, mode: 0o644 },
    ]);
    await this.reload();
  }
}
