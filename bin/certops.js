#!/usr/bin/env node
// The certops CLI. The code is TypeScript, run through tsx's loader so no build step is needed.
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// tsx keeps compiled modules in $TMPDIR/tsx-<uid> and runs what it finds there. In a shared
// temporary folder another user could make that folder first and plant code: it is used only
// when it is ours and no one else may write to it; otherwise nothing is cached.
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
