#!/usr/bin/env node
// The certops CLI. Its commands run from a JavaScript bundle of cli.ts that esbuild writes to
// .build/cli/ on first use and again whenever a file it was built from changes: a call starts in a
// fraction of a second instead of compiling TypeScript each time. `serve` runs the suite's
// TypeScript through tsx as before (its workers load .ts files by path), and so does every command
// when the bundle cannot be written (a read-only install).
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const builds = join(root, '.build', 'cli');
const currentFile = join(builds, 'current.json');

/** Whether the build folder is this user's and no one else may write to it (else what it holds is not run). */
function ours(folder) {
  const st = lstatSync(folder);
  return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
}

/** The bundle's entry, when there is one and no file it was built from changed since. */
function freshBundle() {
  try {
    if (!ours(builds)) return undefined;
    const { dir, builtAt, inputs } = JSON.parse(readFileSync(currentFile, 'utf8'));
    for (const file of inputs) if (statSync(join(root, file)).mtimeMs > builtAt) return undefined;
    return join(builds, dir, 'cli.js');
  } catch {
    return undefined;
  }
}

/**
 * Builds a bundle in a folder of its own and then points current.json at it (a rename: atomic).
 * A call still loading an older bundle keeps its files; builds older than an hour are removed.
 */
async function buildBundle() {
  const { build } = await import('esbuild');
  const builtAt = Date.now();
  const dir = `${builtAt}-${process.pid}`;
  const result = await build({
    entryPoints: { cli: join(root, 'bin', 'cli.ts') },
    outdir: join(builds, dir),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const pointer = `${currentFile}.${process.pid}`;
  writeFileSync(pointer, JSON.stringify({ dir, builtAt, inputs: Object.keys(result.metafile.inputs) }));
  renameSync(pointer, currentFile);
  for (const old of readdirSync(builds)) {
    const made = Number(old.split('-')[0]);
    if (old !== dir && /^\d+-\d+$/.test(old) && made < builtAt - 3_600_000) rmSync(join(builds, old), { recursive: true, force: true });
  }
  return join(builds, dir, 'cli.js');
}

async function compiled() {
  const fresh = freshBundle();
  if (fresh) return fresh;
  try {
    mkdirSync(builds, { recursive: true, mode: 0o755 });
    if (!ours(builds)) return undefined;
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
if (bundle) await import(pathToFileURL(bundle).href);
else await viaTsx();
