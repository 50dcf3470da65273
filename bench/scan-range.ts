// npm run bench:scan-range — how long a range scan takes through the running stack (its own
// process, the CLI's API calls), when every address holds the connection and never answers (a
// firewall that drops, a host that hangs: the slow case of a real network). Beside it, in the
// same run, the same scan as one worker (the whole scan one chunk: the single-function design
// before scan workers), on a smaller range so it ends.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../test/support/processes.ts';

const PORT = 9443;
const TIMEOUT_MS = 3000;

// Every 127.x.y.z reaches this listener: it accepts and stays silent, so each handshake waits out the timeout.
const silent = spawn(process.execPath, ['-e', `require('node:net').createServer((s) => s.on('error', () => {})).listen(${PORT}, '0.0.0.0', () => console.log('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => silent.stdout!.once('data', r));

async function timedScan(range: string, chunkSize: number) {
  const home = mkdtempSync(join(tmpdir(), 'certops-bench-range-'));
  const stack = await startStack(home, { CERTOPS_SCAN_CHUNK_SIZE: String(chunkSize), CERTOPS_SCAN_TIMEOUT_MS: String(TIMEOUT_MS), CERTOPS_SIEM_FILE: '' });
  try {
    const headers = { authorization: `Bearer ${readFileSync(stack.tokenFile, 'utf8').trim()}`, 'content-type': 'application/json' };
    const start = performance.now();
    let scan = await (await fetch(`${stack.url}/scans`, { method: 'POST', headers, body: JSON.stringify({ targets: [range], ports: [PORT], legacyProtocols: false }) })).json();
    while (scan.status === 'running') {
      await new Promise((r) => setTimeout(r, 1000));
      scan = await (await fetch(`${stack.url}/scans/${scan.scanId}?limit=1`, { headers })).json();
    }
    const seconds = (performance.now() - start) / 1000;
    if (scan.status !== 'completed' || scan.counts.failures !== scan.total) throw new Error(`scan of ${range} ended ${scan.status}: ${JSON.stringify(scan.counts)}`);
    return { range, endpoints: scan.total, chunks: scan.chunks, seconds };
  } finally {
    await stack.stop();
  }
}

const rows = [
  { label: 'one worker (one chunk)', ...(await timedScan('127.3.0.0/22', 1_000_000)) },
  { label: 'scan workers (256 per chunk)', ...(await timedScan('127.3.0.0/22', 256)) },
  { label: 'scan workers (256 per chunk)', ...(await timedScan('127.2.0.0/16', 256)) },
];
silent.kill();
console.log(`every endpoint silent (each handshake times out after ${TIMEOUT_MS} ms); 64 connections per worker; at most 20 workers (serverless.yml maximumConcurrency)`);
for (const r of rows) console.log(`${r.label.padEnd(30)} ${r.range.padEnd(14)} ${String(r.endpoints).padStart(6)} endpoints  ${String(r.chunks).padStart(4)} chunks  ${r.seconds.toFixed(1).padStart(7)} s  ${Math.round(r.endpoints / r.seconds)} endpoints/s`);
console.log(`speed-up on the /22: ${(rows[0].seconds / rows[1].seconds).toFixed(1)}x; the /16 in ${(rows[2].seconds / 60).toFixed(1)} minutes (one worker would need about ${((rows[2].endpoints / rows[0].endpoints) * rows[0].seconds / 60).toFixed(0)} minutes, past Lambda's 15)`);
