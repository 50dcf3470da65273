import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StepError } from '../../shared/errors.ts';

/** One file of a set: its name in the directory, its content, and its mode when it is new (and the most others may have). */
export interface SetFile {
  name: string;
  content: string;
  mode: number;
}

/** The regular file's content, undefined when there is none; a link or anything but a regular file in its place is refused. */
export async function readRegular(path: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new StepError('deploy', `${path} is a symbolic link: certops writes and reads only regular files there`);
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new StepError('deploy', `${path} is not a regular file`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

interface Staged {
  file: SetFile;
  path: string;
  tmp: string;
  /** What the file held before, to put back if the set cannot be completed. */
  before?: string;
  owner?: { uid: number; gid: number; mode: number };
}

/**
 * Writes a new file next to `path` without following links (O_EXCL: a name planted in its place
 * makes this fail), owned and permitted as the file it replaces is: the group and mode an
 * operator gave a key (so that the service can read it) survive the replacement.
 */
async function stage(s: Staged): Promise<void> {
  const handle = await open(s.tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, s.owner?.mode ?? s.file.mode);
  try {
    await handle.writeFile(s.file.content);
    if (s.owner) {
      try {
        await handle.chown(s.owner.uid, s.owner.gid);
      } catch (err) {
        throw new StepError('deploy', `cannot keep ${s.path} owned by ${s.owner.uid}:${s.owner.gid} as it is (${(err as NodeJS.ErrnoException).code}); the service reading it may lose access`);
      }
      // After chown: changing the owner clears set-id bits, and the creation mode was masked by the umask.
      await handle.chmod(s.owner.mode);
    }
  } finally {
    await handle.close();
  }
}

/** Removes the temporary files of `staged`, whichever of them exist. */
async function discard(staged: Staged[]): Promise<void> {
  await Promise.all(staged.map((s) => unlink(s.tmp).catch(() => undefined)));
}

/** Writes every new version beside its file; if one cannot be written, none is left. */
async function stageAll(staged: Staged[]): Promise<void> {
  const written: Staged[] = [];
  try {
    for (const s of staged) {
      written.push(s);
      await stage(s);
    }
  } catch (err) {
    await discard(written);
    throw err;
  }
}

/**
 * Undoes the renames of a set that could not be completed: a file the set created is removed (left,
 * it would hold the new version beside the old ones), and a file it replaced gets its old content
 * back, owned and permitted as it was. Best effort: the caller reports the failure that led here.
 */
async function putBack(replaced: Staged[]): Promise<void> {
  await Promise.all(replaced.filter((s) => s.before === undefined).map((s) => unlink(s.path).catch(() => undefined)));
  const restore = replaced.filter((s) => s.before !== undefined).map((s) => ({ ...s, file: { ...s.file, content: s.before! }, tmp: tempName(s.path) }));
  if (!restore.length) return;
  try {
    await stageAll(restore);
  } catch {
    return;
  }
  for (const s of restore) await rename(s.tmp, s.path).catch(() => unlink(s.tmp).catch(() => undefined));
}

/** A name beside `path` for its new version; the filesystem target recognises it to clean up after a killed process. */
function tempName(path: string): string {
  return `${path}.${randomBytes(8).toString('hex')}.tmp`;
}

/**
 * Replaces a set of files in `dir` together: every new version is written first (each owned and
 * permitted as the one it replaces), then each is renamed over its file in order (rename replaces
 * the directory entry itself, never what a link there points to). A failure while writing leaves
 * every file as it was; a failure while renaming puts back what was already replaced and removes
 * what the set created. No temporary file is left either way.
 */
export async function replaceFileSet(dir: string, files: SetFile[]): Promise<void> {
  const staged: Staged[] = [];
  for (const file of files) {
    const path = join(dir, file.name);
    const st = await lstat(path).catch(() => undefined);
    staged.push({
      file, path, tmp: tempName(path),
      before: st ? await readRegular(path) : undefined,
      // The operator's group and mode are kept; others never get more than a new file gives them, and no set-id bit survives.
      owner: st?.isFile() ? { uid: st.uid, gid: st.gid, mode: st.mode & (file.mode | 0o070) } : undefined,
    });
  }
  await stageAll(staged);
  const replaced: Staged[] = [];
  try {
    for (const s of staged) {
      await rename(s.tmp, s.path);
      replaced.push(s);
    }
  } catch (err) {
    await discard(staged.filter((s) => !replaced.includes(s)));
    await putBack(replaced);
    throw err instanceof StepError ? err : new StepError('deploy', `could not replace the files in ${dir}: ${(err as Error).message}`);
  }
}
