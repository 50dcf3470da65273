// npm run bench:ct — entries per second end to end (download, verify, match) against a local RFC 6962
// log of 50,000 entries (x509 and precert, EC and RSA keys, about 1% on watched names plus
// look-alike decoys), at 0 ms and 50 ms added latency per request, beside certspotter (Debian's
// package) on the same log in the same run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rfc6962Client } from '../adapters/ct/rfc6962-client.ts';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoCtStateStore } from '../adapters/dynamodb/ct-state-store.ts';
import { pollLog } from '../services/ct-monitor/poll-log.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import { assembleCertificate, keyIdentifier, leafTbs, nameDer } from '../shared/x509/certificate-builder.ts';
import { signingAlgorithm } from '../shared/x509/keys.ts';
import { freshTable } from '../test/support/dynamo.ts';
import { precertLeaf, startTestLog, x509Leaf } from '../test/support/ct-test-log.ts';
import { sign } from 'node:crypto';

const ENTRIES = 50_000;
const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const caSpki = ca.publicKey.export({ type: 'spki', format: 'der' });
const subjectKeys = [generateKeyPairSync('ec', { namedCurve: 'P-256' }), generateKeyPairSync('rsa', { modulusLength: 2048 })].map((k) => ({ spki: k.publicKey.export({ type: 'spki', format: 'der' }), type: k.publicKey.asymmetricKeyType === 'rsa' ? 'RSA' : 'EC' }));
const { hash, algorithmDer } = signingAlgorithm('EC_P256');
const issuer = nameDer([['CN', 'Bench CA']]);

/** 1% on watched names (half of them under a subdomain), 1% look-alikes that must not match, the rest unrelated. */
function nameFor(i: number): { name: string; watched: boolean } {
  if (i % 100 === 7) return { name: i % 200 === 7 ? `w${i}.watched-bench.example` : 'watched-bench.example', watched: true };
  if (i % 100 === 13) return { name: [`watched-bench.example.evil${i}.test`, `xwatched-bench.example`, `w${i}.watched-bench.examples`][i % 3], watched: false };
  return { name: `h${i}.unrelated${i % 97}.test`, watched: false };
}

const log = await startTestLog(1000);
const expected = new Set<number>();
for (let i = 0; i < ENTRIES; i++) {
  const { name, watched } = nameFor(i);
  if (watched) expected.add(i);
  const key = subjectKeys[i % 2];
  const tbs = leafTbs({ serial: randomBytes(16), issuerDer: issuer, issuerKeyId: keyIdentifier(caSpki), signatureAlgorithmDer: algorithmDer, notBefore: new Date(), notAfter: new Date(Date.now() + 90 * 86_400_000), commonName: name, names: [name], spkiDer: key.spki, keyType: key.type, profile: 'tls-server' });
  if (i % 3 === 0) log.append(precertLeaf(createHash('sha256').update(caSpki).digest(), tbs, i));
  else log.append(x509Leaf(assembleCertificate(tbs, algorithmDer, sign(hash, tbs, ca.privateKey)), i));
}

async function certops(latencyMs: number): Promise<{ rate: number; correct: boolean }> {
  log.faults.latencyMs = latencyMs;
  const db = await freshTable();
  const ct = new DynamoCtStateStore(db.table);
  await ct.putWatchlist(['.watched-bench.example']);
  const matched = new Set<number>();
  const publisher = { publish: async (events: BusEvent[]) => events.forEach((e) => e.detailType === 'ct.unauthorized_certificate' && matched.add(Number(e.detail.index))) };
  const start = performance.now();
  await pollLog({ logUrl: log.url, key: log.key, position: 0, treeSize: 0, updatedAt: '' }, { clock: { now: () => new Date() }, ct, certificates: new DynamoCertificateStore(db.table), publisher, logReader: (s) => new Rfc6962Client(s.logUrl), batchSize: 1000, concurrency: 8 });
  const rate = ENTRIES / ((performance.now() - start) / 1000);
  await db.close();
  return { rate, correct: matched.size === expected.size && [...expected].every((i) => matched.has(i)) };
}

async function certspotter(latencyMs: number): Promise<number> {
  log.faults.latencyMs = latencyMs;
  const dir = mkdtempSync(join(tmpdir(), 'certops-certspotter-'));
  const logId = createHash('sha256').update(Buffer.from(log.key, 'base64')).digest('base64');
  writeFileSync(join(dir, 'logs.json'), JSON.stringify({ version: '3.0', operators: [{ name: 'bench', email: ['bench@example.com'], logs: [{ description: 'bench', log_id: logId, key: log.key, url: `${log.url}/`, mmd: 86400, state: { usable: { timestamp: '2020-01-01T00:00:00Z' } } }] }] }));
  writeFileSync(join(dir, 'watchlist'), '.watched-bench.example\n');
  const start = performance.now();
  const child = spawn('certspotter', ['-logs', join(dir, 'logs.json'), '-watchlist', join(dir, 'watchlist'), '-state_dir', join(dir, 'state'), '-no_save', '-stdout', '-batch_size', '1000'], { stdio: 'ignore' });
  const done = () => {
    const walk = (d: string): string[] => { try { return readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)])); } catch { return []; } };
    return walk(join(dir, 'state')).some((f) => f.endsWith('.json') && readFileSync(f, 'utf8').includes(`"size":${ENTRIES}`) && /verified_position"\s*:\s*\{[^}]*"size"\s*:\s*50000/.test(readFileSync(f, 'utf8')));
  };
  while (!done()) {
    if (child.exitCode !== null) throw new Error(`certspotter exited ${child.exitCode}`);
    if (performance.now() - start > 300_000) throw new Error('certspotter did not finish in 5 minutes');
    await new Promise((r) => setTimeout(r, 50));
  }
  const rate = ENTRIES / ((performance.now() - start) / 1000);
  child.kill();
  return rate;
}

for (const latency of [0, 50]) {
  const ours = await certops(latency);
  const theirs = await certspotter(latency).catch((err) => { console.log(`certspotter: ${err.message}`); return NaN; });
  console.log(`${latency} ms per request: certops ${Math.round(ours.rate)} entries/s (matches ${ours.correct ? 'all correct, no decoy' : 'WRONG'}), certspotter ${Math.round(theirs)} entries/s, ratio ${(ours.rate / theirs).toFixed(2)} (target > 1)`);
}
await log.close();
process.exit(0);
