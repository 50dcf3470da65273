import { chmod, lstat, mkdir, realpath } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The state folder, made if need be, as a real path that only this user can change: the master
 * key, the admin token and the table's socket live there. Refused (with why) when the folder or a
 * folder above it is a link someone else could repoint, belongs to another user, or lets others
 * replace what is in it (group- or world-writable without the sticky bit, as /tmp has).
 * Everything after uses the returned real path, never the name given.
 */
export async function privateHome(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  const refuse = (why: string): never => {
    throw new Error(`${path}: ${why}; choose a CERTOPS_HOME of your own`);
  };
  const own = await lstat(path);
  if (own.isSymbolicLink()) {
    // A link is followed only when it and everything it leads through are ours.
    if (own.uid !== uid && own.uid !== 0) refuse(`it is a link owned by user ${own.uid}`);
  }
  const real = await realpath(path);
  const st = await lstat(real);
  if (!st.isDirectory()) refuse('it is not a folder');
  if (st.uid !== uid) refuse(`it belongs to user ${st.uid}, not to the user certops runs as (${uid})`);
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const up = await lstat(dir);
    const othersMayReplace = (up.mode & 0o022) !== 0 && (up.mode & 0o1000) === 0;
    if ((up.uid !== uid && up.uid !== 0) || othersMayReplace) refuse(`${dir} above it belongs to user ${up.uid} or lets others replace what is in it`);
    if (dir === dirname(dir)) break;
  }
  await chmod(real, 0o700);
  return real;
}
