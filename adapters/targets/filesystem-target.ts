import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, rename, writeFile, copyFile } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
import { StepError } from '../../shared/errors.ts';
import type { CertificateBundle, DeploymentTarget } from '../../shared/ports.ts';


const FILES = { certificatePem: 'cert.pem', chainPem: 'chain.pem', fullchain: 'fullchain.pem', privateKeyPem: 'privkey.pem' } as const;
const RELOAD_TIMEOUT_MS = 30_000;

async function atomicWrite(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}

function runReload(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { timeout: RELOAD_TIMEOUT_MS }, (err, _stdout, stderr) => {
      if (err) reject(new StepError('deploy', `reload command failed: ${(stderr || err.message).trim().slice(0, 500)}`));
      else resolve();
    });
  });
}

/**
 * Certificate, chain, full chain and key (0600) in a directory, each written atomically (write,
 * then rename), with the version it replaces kept in `previous/` for rollback.
 */
export class FilesystemTarget implements DeploymentTarget {
  constructor(private readonly directory: string, private readonly roots: string[], private readonly reloadCommand?: string) {}

  /**
   * Refuses to touch a directory that is not, once links are followed, inside one of the allowed
   * roots: a symbolic link made after registration must not lead the keys elsewhere.
   */
  private async confined(): Promise<void> {
    const real = async (path: string): Promise<string> => realpath(path).catch(async (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) throw err;
      return join(await real(dirname(path)), basename(path));
    });
    const [directory, ...roots] = await Promise.all([this.directory, ...this.roots].map(real));
    if (!roots.some((root) => directory === root || directory.startsWith(`${root}${sep}`))) {
      throw new StepError('deploy', `${this.directory} leads to ${directory}, outside the allowed roots (deployment.allowedRoots)`);
    }
  }

  /** The certificate PEM the directory serves now, or undefined. */
  current(): Promise<string | undefined> {
    return readOrUndefined(join(this.directory, FILES.certificatePem));
  }

  /** Writes the bundle; deploying what is already there changes nothing (and keeps the real previous version). */
  async deploy(bundle: CertificateBundle): Promise<void> {
    await this.confined();
    await mkdir(join(this.directory, 'previous'), { recursive: true, mode: 0o700 });
    await this.confined();
    const current = await this.current();
    if (current?.trim() === bundle.certificatePem.trim()) return;
    if (current) {
      for (const file of Object.values(FILES)) {
        await copyFile(join(this.directory, file), join(this.directory, 'previous', file)).catch(() => undefined);
      }
    }
    await this.write(bundle);
  }

  /** Puts back the version kept in previous/ (what the directory really held), else `previous`; false when the new one is not there. */
  async rollback(expectCurrent: string, previous: CertificateBundle): Promise<boolean> {
    await this.confined();
    const current = await this.current();
    if (current?.trim() !== expectCurrent.trim()) return false;
    const prev = (file: string) => readOrUndefined(join(this.directory, 'previous', file));
    const [certificatePem, chainPem, privateKeyPem] = await Promise.all([prev(FILES.certificatePem), prev(FILES.chainPem), prev(FILES.privateKeyPem)]);
    await this.write(certificatePem && privateKeyPem ? { certificatePem, chainPem: chainPem ?? '', privateKeyPem } : previous);
    return true;
  }

  private async write(bundle: CertificateBundle): Promise<void> {
    // The certificate is renamed last, so current() reports the new version only once every file is in place.
    await atomicWrite(join(this.directory, FILES.privateKeyPem), bundle.privateKeyPem, 0o600);
    await atomicWrite(join(this.directory, FILES.chainPem), bundle.chainPem, 0o644);
    await atomicWrite(join(this.directory, FILES.fullchain), bundle.certificatePem.trimEnd() + '\n' + bundle.chainPem, 0o644);
    await atomicWrite(join(this.directory, FILES.certificatePem), bundle.certificatePem, 0o644);
    if (this.reloadCommand) await runReload(this.reloadCommand);
  }
}
