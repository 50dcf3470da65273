// npm run bench:issue — certificates issued per second end to end through the local API (CSR path,
// EC P-256), `certops serve` running as a process of its own as users run it, with the store writes
// each takes; and the signing core alone (CSR in, certificate out, in process) beside CloudFlare's
// cfssl serve signing the same CSR over its HTTP API, at the same concurrency, in the same run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local/stack.ts';
import { runtime } from '../adapters/runtime.ts';
import { DynamoAuthorityStore } from '../adapters/dynamodb/authority-store.ts';
import { openTable, tableClientConfig } from '../adapters/dynamodb/table.ts';
import { localVault } from '../test/support/vault.ts';
import { readCsr } from '../shared/x509/csr.ts';
import { newKeyAndCsr } from '../shared/x509/new-key.ts';
import { pool } from './support/pool.ts';
import { startStack } from '../test/support/processes.ts';

const CONCURRENCY = 32;
const CORE_SIGNINGS = 20_000;
const API_ISSUANCES = 2_000;
const API_CONCURRENCY = 16;


const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const home = mkdtempSync(join(tmpdir(), 'certops-bench-issue-'));
const writesFile = join(home, 'table-writes.json');
const { csrPem } = await newKeyAndCsr('EC_P256', 'bench.example.com', ['bench.example.com']);

// 1. End to end through the API of a stack in its own process, as users run it. The store writes
// per issuance come from a second stack that counts what its embedded table takes (counting reads
// every request and answer again, so it is not the stack whose rate is printed); its figure
// includes startup and warm-up (a few dozen items against some 10,000) and, since a stop drains
// the bus first, the SIEM export's and the audit trail's writes.
const payload = JSON.stringify({ commonName: 'bench.example.com', csr: csrPem });
const WARM_UP = 100;
const COUNTED = 700;
async function issueThrough(stackHome: string, count: number, env: Record<string, string> = {}): Promise<number> {
  const served = await startStack(stackHome, env);
  const token = readFileSync(served.tokenFile, 'utf8').trim();
  await pool(WARM_UP, API_CONCURRENCY, () => post(`${served.url}/certificates`, payload, { authorization: `Bearer ${token}` }));
  const rate = await pool(count, API_CONCURRENCY, async () => {
    const res = await post(`${served.url}/certificates`, payload, { authorization: `Bearer ${token}` });
    if (res.status !== 201) throw new Error(`issuance answered ${res.status}: ${res.body}`);
  });
  await served.stop();
  return rate;
}
const apiRate = await issueThrough(home, API_ISSUANCES);
const countedHome = mkdtempSync(join(tmpdir(), 'certops-bench-issue-counted-'));
await issueThrough(countedHome, COUNTED, { CERTOPS_COUNT_TABLE_WRITES: writesFile });
rmSync(countedHome, { recursive: true, force: true });
const writes = JSON.parse(readFileSync(writesFile, 'utf8')) as { calls: number; items: number; localItems: number };
const perIssuance = writes.items / (WARM_UP + COUNTED);
const localPerIssuance = writes.localItems / (WARM_UP + COUNTED);

// 2. The signing core alone: the CSR's proof of possession checked, the certificate encoded and signed.
const stack = await startLocalStack({ ...process.env, CERTOPS_HOME: home, PORT: '0' });
const ca = await runtime().authority('local');
const core = async () => {
  const csr = await readCsr(csrPem);
  await ca.issue({ csrPem, spkiDer: csr.spkiDer, keyType: csr.keyType, commonName: 'bench.example.com', subjectAlternativeNames: ['bench.example.com'], validityDays: 90, profile: 'tls-server' });
};
await pool(500, CONCURRENCY, core);
const coreRates: number[] = [];
for (let i = 0; i < 3; i++) coreRates.push(await pool(CORE_SIGNINGS, CONCURRENCY, core));

// 3. cfssl serve with the same intermediate CA key, signing the same CSR over HTTP.
const cfsslDir = mkdtempSync(join(tmpdir(), 'certops-cfssl-'));
// The CA's key is outside what the suite's functions may read: cfssl gets it from the table and the vault directly.
const table = openTable(runtime().config.tableName, tableClientConfig(runtime().config.dynamodbEndpoint));
const authority = (await new DynamoAuthorityStore(table).get('local'))!;
writeFileSync(join(cfsslDir, 'ca.pem'), authority.intermediatePem);
writeFileSync(join(cfsslDir, 'ca-key.pem'), createPrivateKey(await (await localVault(table, home)).get(authority.intermediateKeyRef)).export({ type: 'sec1', format: 'pem' }));
writeFileSync(join(cfsslDir, 'config.json'), JSON.stringify({ signing: { default: { expiry: '2160h', usages: ['digital signature', 'server auth'] } } }));
const port = 20000 + Math.floor(Math.random() * 20000);
const cfssl = spawn('cfssl', ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', join(cfsslDir, 'ca.pem'), '-ca-key', join(cfsslDir, 'ca-key.pem'), '-config', join(cfsslDir, 'config.json'), '-loglevel', '5'], { stdio: 'ignore' });
const signUrl = `http://127.0.0.1:${port}/api/v1/cfssl/sign`;
const cfsslBody = JSON.stringify({ certificate_request: csrPem });
for (let i = 0; ; i++) {
  try {
    const res = await post(signUrl, cfsslBody);
    if (res.status === 200 && JSON.parse(res.body).success) break;
    throw new Error(res.body);
  } catch (err) {
    if (i > 100) throw new Error(`cfssl serve did not answer: ${(err as Error).message}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
await pool(500, CONCURRENCY, () => post(signUrl, cfsslBody));
const cfsslRates: number[] = [];
for (let i = 0; i < 3; i++) cfsslRates.push(await pool(CORE_SIGNINGS, CONCURRENCY, () => post(signUrl, cfsslBody)));
cfssl.kill();

await stack.stop();
// The CA key was copied out for cfssl: neither folder outlives the run.
for (const dir of [home, cfsslDir]) rmSync(dir, { recursive: true, force: true });
agent.destroy();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`end to end through the local API (CSR path, EC P-256, concurrency ${API_CONCURRENCY}): ${Math.round(apiRate)} certificates/s (target >= 100)`);
console.log(`store writes per issuance: ${perIssuance.toFixed(2)} items in ${(writes.calls / (WARM_UP + COUNTED)).toFixed(2)} calls (request made and moved on, CA journal, certificate and its pointers, the bus ledger's item of each PutEvents call, the audit trail's marker and its share of a page, the SIEM outbox's share of a page; reads and unconditional writes of concurrent requests share batches)`);
console.log(`  of which ${localPerIssuance.toFixed(2)} items are the local bus's ledger, which EventBridge keeps on AWS: ${(perIssuance - localPerIssuance).toFixed(2)} items per issuance there`);
console.log(`signing core in process (concurrency ${CONCURRENCY}): ${Math.round(median(coreRates))} certificates/s`);
console.log(`cfssl serve over HTTP (concurrency ${CONCURRENCY}):  ${Math.round(median(cfsslRates))} certificates/s`);
console.log(`ratio certops core/cfssl: ${(median(coreRates) / median(cfsslRates)).toFixed(2)} (target >= 1)`);
process.exit(0);
