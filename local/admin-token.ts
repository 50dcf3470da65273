import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { authenticateToken } from '../shared/api-token.ts';
import { UnauthorizedError } from '../shared/errors.ts';
import { mintAdminToken, type TokenDeps } from '../services/inventory/tokens.ts';

/**
 * Keeps a working admin token in `file` (mode 0600): the one there while it authenticates, else
 * a new one. A revoked or expired admin token is so replaced at the next start; whoever can start
 * the stack holds its master key and table anyway. Returns true when it minted one.
 */
export async function ensureAdminToken(file: string, deps: TokenDeps): Promise<boolean> {
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing) {
    try {
      await authenticateToken(existing, deps);
      return false;
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
    }
  }
  const minted = await mintAdminToken('local-stack', deps);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${minted.token}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return true;
}
