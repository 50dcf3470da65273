// The benchmark's RFC 6962 log, in a process of its own so that neither monitor shares a CPU
// thread with it: builds the log (bench/support/ct-bench-entries.ts), serves it on a free port and
// prints one JSON line {url, key}. Each line on stdin `latency MS` sets the delay added to every
// request and is answered with the same line once it applies.
import { createInterface } from 'node:readline';
import { startTestLog } from '../../test/support/ct-test-log.ts';
import { benchEntries } from './ct-bench-entries.ts';

// The largest get-entries answer, as a log's own limit: certspotter's default batch size.
const MAX_BATCH = 1000;

const log = await startTestLog(MAX_BATCH);
for (const { leaf, extraData } of benchEntries()) log.append(leaf, extraData);
process.stdout.write(`${JSON.stringify({ url: log.url, key: log.key })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const m = /^latency (\d+)$/.exec(line.trim());
  if (!m) continue;
  log.faults.latencyMs = Number(m[1]);
  process.stdout.write(`latency ${m[1]}\n`);
}
await log.close();
