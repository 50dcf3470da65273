// npm run bench:ct — CT entries per second, each monitor run the way its users run it, against one
// RFC 6962 log of 50,000 entries (x509 and precert with their extra_data, EC and RSA keys, about
// 1% on watched names plus look-alike decoys) served by a process of its own
// (bench/support/ct-log-server.ts), at 0 ms and 50 ms added per request, both in the same run.
//
// certops: `certops serve` in its own process with a fresh CERTOPS_HOME and its shipped defaults;
// the watchlist and the log (from entry 0) added with the CLI; then timed from the first
// `POST /ct/poll` until a poll says nothing is behind (entries verified, findings stored, alerts
// published to the bus). Correct when the stored findings and the audit trail's
// ct.unauthorized_certificate events name exactly the watched entries (no decoy).
//
// certspotter (Debian's package, v0.16): its own process, its defaults (batch size included), a log
// list naming only this log, timed from spawn until it says it has processed the whole log. v0.16 is
// a daemon and never exits; its one signal of the end is the `-verbose` line "finished downloading
// entries from URL", which it prints after every entry up to the signed tree head has been
// processed and the Merkle root checked against the head (monitor.go, monitorLog). `-verbose` adds
// log lines and changes nothing else. Correct when `-stdout` names exactly the watched entries.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { apiCall } from '../test/support/api.ts';
import { cli } from '../test/support/cli.ts';
import { ROOT, startStack } from '../test/support/processes.ts';
import { ENTRIES, WATCHED_DOMAIN, watchedIndexes } from './support/ct-bench-entries.ts';

const LATENCIES_MS = [0, 50];
const TIMEOUT_MS = 600_000;
const expected = watchedIndexes();

/** True when `found` holds exactly the watched indexes, once each. */
const exactlyWatched = (found: number[]) => found.length === expected.length && [...found].sort((a, b) => a - b).every((v, i) => v === expected[i]);

const logServer = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/ct-log-server.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
const serverLines = createInterface({ input: logServer.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => {
  const { value, done } = await serverLines.next();
  if (done) throw new Error(`the log server exited (${logServer.exitCode})`);
  return value as string;
};
const log = JSON.parse(await nextLine()) as { url: string; key: string };

/** The log server answers `latency MS` once the delay applies to every request after it. */
async function setLatency(ms: number): Promise<void> {
  logServer.stdin!.write(`latency ${ms}\n`);
  if ((await nextLine()) !== `latency ${ms}`) throw new Error('the log server did not take the latency');
}

async function certops(): Promise<{ rate: number; correct: boolean; auditSeconds: number }> {
  const home = mkdtempSync(join(tmpdir(), 'certops-bench-ct-'));
  const stack = await startStack(home);
  try {
    const env = { CERTOPS_HOME: home };
    for (const args of [['ct', 'watch', 'add', WATCHED_DOMAIN], ['ct', 'logs', 'add', log.url, '--key', log.key, '--start', '0']]) {
      const run = await cli(args, env);
      if (run.code !== 0) throw new Error(`certops ${args.slice(0, 3).join(' ')} failed: ${run.stderr}`);
    }
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, token, method, path, body);
    const start = performance.now();
    for (;;) {
      const { status, body } = await api('POST', '/ct/poll', {});
      const result = body.logs?.find((l: { logUrl: string }) => l.logUrl === log.url);
      if (status !== 200 || !result || result.error || result.misbehaviour) throw new Error(`POST /ct/poll answered ${status}: ${JSON.stringify(body).slice(0, 500)}`);
      if (result.to === ENTRIES && !result.behind) break;
      if (performance.now() - start > TIMEOUT_MS) throw new Error('certops did not finish in 10 minutes');
    }
    const seconds = (performance.now() - start) / 1000;
    // Every stored finding, page by page.
    const findings: { index: number }[] = [];
    let findingsToken: string | undefined;
    do {
      const { body } = await api('GET', `/ct/findings?limit=500${findingsToken ? `&nextToken=${encodeURIComponent(findingsToken)}` : ''}`);
      findings.push(...body.items);
      findingsToken = body.nextToken;
    } while (findingsToken);
    // The alerts reach the audit trail through the bus after the poll has published them.
    const alerts = async () => {
      const indexes: number[] = [];
      let nextToken: string | undefined;
      do {
        const { body } = await api('GET', `/events?type=ct.unauthorized_certificate&limit=1000${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`);
        indexes.push(...(body.items as { detail: { index: number } }[]).map((r) => r.detail.index));
        nextToken = body.nextToken;
      } while (nextToken);
      return indexes;
    };
    let alerted = await alerts();
    while (alerted.length < expected.length && performance.now() - start < TIMEOUT_MS) {
      // Looked at four times a second: reading the trail takes the CPU the consumers need.
      await new Promise((r) => setTimeout(r, 250));
      alerted = await alerts();
    }
    return { rate: ENTRIES / seconds, correct: exactlyWatched(findings.map((f) => f.index)) && exactlyWatched(alerted), auditSeconds: (performance.now() - start) / 1000 - seconds };
  } finally {
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

async function certspotter(): Promise<{ rate: number; correct: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'certops-bench-certspotter-'));
  const logId = createHash('sha256').update(Buffer.from(log.key, 'base64')).digest('base64');
  writeFileSync(join(dir, 'logs.json'), JSON.stringify({ version: '3.0', operators: [{ name: 'bench', email: ['bench@example.com'], logs: [{ description: 'bench', log_id: logId, key: log.key, url: `${log.url}/`, mmd: 86400, state: { usable: { timestamp: '2020-01-01T00:00:00Z' } } }] }] }));
  writeFileSync(join(dir, 'watchlist'), `${WATCHED_DOMAIN}\n`);
  const start = performance.now();
  const child = spawn('certspotter', ['-logs', join(dir, 'logs.json'), '-watchlist', join(dir, 'watchlist'), '-state_dir', join(dir, 'state'), '-stdout', '-verbose'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('certspotter did not finish in 10 minutes')), TIMEOUT_MS);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        if (line.includes(`finished downloading entries from ${log.url}/`)) resolve();
        else if (/error/i.test(line)) reject(new Error(`certspotter: ${line}`));
      });
      child.once('exit', (code) => reject(new Error(`certspotter exited ${code}`)));
    });
    const rate = ENTRIES / ((performance.now() - start) / 1000);
    return { rate, correct: exactlyWatched([...stdout.matchAll(/Log Entry = (\d+) @/g)].map((m) => Number(m[1]))) };
  } finally {
    clearTimeout(timer);
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const verdict = (correct: boolean) => (correct ? `all ${expected.length} watched entries, no decoy` : 'WRONG matches');
for (const latency of LATENCIES_MS) {
  await setLatency(latency);
  const ours = await certops();
  const theirs = await certspotter().catch((err) => ({ rate: NaN, correct: false, error: (err as Error).message }));
  console.log(`${latency} ms per request: certops ${Math.round(ours.rate)} entries/s (${verdict(ours.correct)}; alerts in the audit trail ${ours.auditSeconds.toFixed(1)} s later), `
    + `certspotter ${Math.round(theirs.rate)} entries/s (${'error' in theirs ? theirs.error : verdict(theirs.correct)}), ratio ${(ours.rate / theirs.rate).toFixed(2)} (target >= 1)`);
}
logServer.kill();
process.exit(0);
