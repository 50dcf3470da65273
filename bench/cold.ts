/**
 * bench:cold: what a cold start pays for each function's code. Packages the suite as a deployment
 * does (`serverless package`: a zip per function), then for every function prints its zip size
 * and the median time to import its bundle in fresh Node processes (what Lambda's init does before
 * the first invocation), beside a bundle holding only the DynamoDB client, built with the same
 * esbuild settings and measured the same way in this run, and the ratio.
 * Targets (issue #14): every zip at most 1 MB, every import at most 1.5 times the baseline's.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleHandler, zipFolder } from '../deploy/bundle-functions.js';
import { readServerlessYml } from '../local/serverless-definition.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const work = mkdtempSync(join(tmpdir(), 'certops-cold-'));
const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** Milliseconds of `import(bundle)` in a fresh Node process. */
function importOnce(bundle: string): number {
  const probe = `const t = process.hrtime.bigint(); await import(${JSON.stringify(bundle)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { env, cwd: work }).toString());
}

/**
 * Median import time of each bundle over RUNS rounds; each round imports every bundle once, in a
 * shuffled order, so a slow moment of the machine falls on all of them alike.
 */
function medianImportMs(bundles: string[]): Map<string, number> {
  const times = new Map(bundles.map((b) => [b, [] as number[]]));
  for (let round = 0; round < RUNS; round++) {
    for (const b of [...bundles].sort(() => Math.random() - 0.5)) times.get(b)!.push(importOnce(b));
  }
  return new Map([...times].map(([b, t]) => [b, t.sort((x, y) => x - y)[Math.floor(RUNS / 2)]]));
}

try {
  console.log('packaging the suite (serverless package) ...');
  const out = join(work, 'package');
  execFileSync(join(ROOT, 'node_modules/.bin/osls'), ['package', '--stage', 'bench', '--package', out], { cwd: ROOT, env, stdio: 'pipe' });
  const doc = readServerlessYml(ROOT);
  const esbuildOptions = doc.custom.esbuild;

  // The baseline: the DynamoDB client alone, bundled as the functions are (deploy/bundle-functions.js).
  const baselineEntry = join(ROOT, '.esbuild', 'dynamodb-only.ts');
  mkdirSync(dirname(baselineEntry), { recursive: true });
  writeFileSync(baselineEntry, "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const client = DynamoDBClient;\n");
  const baselineDir = join(work, 'baseline');
  await bundleHandler({ 'dynamodb-only': baselineEntry }, baselineDir, esbuildOptions);
  const baselineBundle = join(baselineDir, 'dynamodb-only.mjs');
  await zipFolder(baselineDir, join(work, 'baseline.zip'), (file) => !file.endsWith('.map'));
  const functions = Object.entries<{ handler: string }>(doc.functions).map(([fn, spec]) => {
    const zip = join(out, `${fn}.zip`);
    const dir = join(work, 'unzipped', fn);
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-qo', zip, '-d', dir]);
    return { fn, zip: statSync(zip).size, bundle: join(dir, `${spec.handler.slice(0, spec.handler.lastIndexOf('.'))}.mjs`) };
  });
  // Functions of one service have the same bundle: each is measured once.
  const byCode = new Map<string, string>();
  for (const f of functions) byCode.set(readFileSync(f.bundle, 'utf8'), byCode.get(readFileSync(f.bundle, 'utf8')) ?? f.bundle);
  const median = medianImportMs([baselineBundle, ...byCode.values()]);
  const baseline = { zip: statSync(join(work, 'baseline.zip')).size, ms: median.get(baselineBundle)! };
  const rows = functions.map((f) => ({ fn: f.fn, zip: f.zip, ms: median.get(byCode.get(readFileSync(f.bundle, 'utf8'))!)! }));

  const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;
  console.log(`\nimport time: median of ${RUNS} fresh Node ${process.version} processes per bundle, all bundles taking turns\n`);
  console.log(`${'function'.padEnd(26)}${'zip'.padStart(9)}${'import'.padStart(10)}${'vs DynamoDB only'.padStart(18)}`);
  console.log(`${'(baseline: DynamoDB only)'.padEnd(26)}${kb(baseline.zip).padStart(9)}${`${baseline.ms.toFixed(0)} ms`.padStart(10)}${'1.00x'.padStart(18)}`);
  for (const r of rows) console.log(`${r.fn.padEnd(26)}${kb(r.zip).padStart(9)}${`${r.ms.toFixed(0)} ms`.padStart(10)}${`${(r.ms / baseline.ms).toFixed(2)}x`.padStart(18)}`);
  const largest = rows.reduce((a, b) => (b.zip > a.zip ? b : a));
  const slowest = rows.reduce((a, b) => (b.ms > a.ms ? b : a));
  console.log(`\nlargest zip: ${largest.fn} ${kb(largest.zip)} (target at most 1024 KB); slowest import: ${slowest.fn} ${(slowest.ms / baseline.ms).toFixed(2)}x the DynamoDB-only bundle (target at most 1.5x)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
