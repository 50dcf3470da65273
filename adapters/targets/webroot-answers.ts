import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WebrootAnswers } from '../../shared/ports.ts';
import { confinedDirectory } from './filesystem-target.ts';

/**
 * http-01 answers written where a web server already serves files (RFC 8555 8.3): the
 * filesystem target's directory is the webroot, and each answer is
 * `<webroot>/.well-known/acme-challenge/<token>`, readable by the web server, written atomically.
 * The webroot and the folders made in it are checked as deployment checks a target's (inside the
 * allowed roots, no links, no one else's); a token is base64url, so it names a file there and
 * nothing else.
 */
export class WebrootChallengeAnswers implements WebrootAnswers {
  constructor(private readonly webroot: () => Promise<string>, private readonly allowedRoots: () => string[]) {}

  private async folder(): Promise<string> {
    const root = await this.webroot();
    const folder = join(root, '.well-known', 'acme-challenge');
    for (const dir of [root, join(root, '.well-known'), folder]) {
      await confinedDirectory(dir, this.allowedRoots());
      await mkdir(dir, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await confinedDirectory(dir, this.allowedRoots());
    }
    return folder;
  }

  async put(token: string, keyAuthorization: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new Error('an ACME token is base64url (RFC 8555 8.1)');
    const folder = await this.folder();
    const staged = join(folder, `.${token}.${randomBytes(8).toString('hex')}.tmp`);
    await writeFile(staged, keyAuthorization, { mode: 0o644, flag: 'wx' });
    await rename(staged, join(folder, token));
  }

  async remove(token: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) return;
    await unlink(join(await this.folder(), token)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
