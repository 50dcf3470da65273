#!/usr/bin/env node
// The certops CLI. Its commands run from a JavaScript bundle of cli.ts that esbuild writes to
// .build/cli/ on first use and again whenever a file it was built from changes: a call starts in a
// fraction of a second instead of compiling TypeScript each time. `serve` runs the suite's
// TypeScript through tsx as before (its workers load .ts files by path), and so does every command
// when the bundle cannot be written (a read-only install).
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const builds = join(root, '.build', 'cli');
const currentFile = join(builds, 'current.json');

/** Whether a file or folder is this user's and no one else may write to it (else what it holds is not run). */
function ours(path, directory) {
  const st = lstatSync(path);
  return (directory ? st.isDirectory() : st.isFile()) && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
}

/** A build's folder name: when it was built and by which process, nothing else (no path). */
const BUILD_DIR = /^\d+-\d+$/;

/**
 * The bundle's entry, when the pointer names a build of ours whose files no one else may write,
 * and no file it was built from changed since.
 */
function freshBundle() {
  try {
    if (!ours(builds, true) || !ours(currentFile, false)) return undefined;
    const { dir, builtAt, inputs } = JSON.parse(readFileSync(currentFile, 'utf8'));
    if (typeof dir !== 'string' || !BUILD_DIR.test(dir) || !Array.isArray(inputs) || inputs.length === 0) return undefined;
    for (const file of inputs) if (statSync(join(root, file)).mtimeMs > builtAt) return undefined;
    const folder = join(builds, dir);
    if (!ours(folder, true) || !readdirSync(folder).every((f) => ours(join(folder, f), false))) return undefined;
    return join(folder, 'cli.js');
  } catch {
    return undefined;
  }
}

/**
 * Builds a bundle in a folder of its own and then points current.json at it (a rename: atomic).
 * Its files are written only writable by their owner, whatever the umask. A call still loading an
 * older bundle keeps its files; builds older than an hour are removed.
 */
async function buildBundle() {
  const { build } = await import('esbuild');
  const builtAt = Date.now();
  const dir = `${builtAt}-${process.pid}`;
  const folder = join(builds, dir);
  const result = await build({
    entryPoints: { cli: join(root, 'bin', 'cli.ts') },
    // Inputs relative to the project, wherever the CLI is called from.
    absWorkingDir: root,
    outdir: folder,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  mkdirSync(folder, { mode: 0o755 });
  chmodSync(folder, 0o755);
  for (const file of result.outputFiles) writeFileSync(file.path, file.contents, { mode: 0o644 });
  const pointer = `${currentFile}.${process.pid}`;
  writeFileSync(pointer, JSON.stringify({ dir, builtAt, inputs: Object.keys(result.metafile.inputs) }), { mode: 0o644 });
  chmodSync(pointer, 0o644);
  renameSync(pointer, currentFile);
  for (const old of readdirSync(builds)) {
    const made = Number(old.split('-')[0]);
    if (old !== dir && BUILD_DIR.test(old) && made < builtAt - 3_600_000) rmSync(join(builds, old), { recursive: true, force: true });
  }
  return join(folder, 'cli.js');
}

async function compiled() {
  const fresh = freshBundle();
  if (fresh) return fresh;
  try {
    mkdirSync(builds, { recursive: true, mode: 0o755 });
    if (!ours(builds, true)) return undefined;
    return await buildBundle();
  } catch {
    return undefined;
  }
}

/**
 * tsx keeps compiled modules in $TMPDIR/tsx-<uid> and runs what it finds there. In a shared
 * temporary folder another user could make that folder first and plant code: it is used only
 * when it is ours and no one else may write to it; otherwise nothing is cached.
 */
async function viaTsx() {
  const uid = process.geteuid?.();
  const cache = join(tmpdir(), `tsx-${uid}`);
  try {
    mkdirSync(cache, { mode: 0o700 });
  } catch {
    // It is there already: checked below.
  }
  try {
    const st = lstatSync(cache);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) process.env.TSX_DISABLE_CACHE = '1';
  } catch {
    process.env.TSX_DISABLE_CACHE = '1';
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}

const bundle = process.argv[2] === 'serve' ? undefined : await compiled();
// A bundle removed under us (another call's clean-up of builds over an hour old) is no reason to fail: compile instead.
const loaded = bundle ? await import(pathToFileURL(bundle).href).then(() => true, (err) => (err?.code === 'ERR_MODULE_NOT_FOUND' ? false : Promise.reject(err))) : false;
if (!loaded) await viaTsx();
