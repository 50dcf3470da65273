// npm run bench:scan — TLS endpoints scanned per second against local TLS servers (nginx), beside a
// bare tls.connect loop at the same concurrency and beside sslscan fetching the same certificates.
import { spawn } from 'node:child_process';
import { connect } from 'node:tls';
import { probeTls } from '../adapters/tls/tls-probe.ts';
import { endpointFindings } from '../services/inventory/endpoint-findings.ts';
import { validateChain } from '../shared/x509/chain-validation.ts';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { scanFixtures, startNginx } from '../test/support/tls-servers.ts';
import { pool } from './support/pool.ts';

const CONCURRENCY = 32;
const PROBES = 3000;
const SSLSCAN_PROBES = 150;

const fixtures = await scanFixtures();
const nginx = await startNginx(fixtures);
const roots = [parseCertificate(fixtures.root.der)];
const endpoints = (['good', 'expired', 'selfSigned', 'wrongHost', 'incomplete'] as const).map((name) => ({ host: '127.0.0.1', port: nginx.ports[name], serverName: 'localhost' }));
const at = (i: number) => endpoints[i % endpoints.length];


/** The floor: a handshake and the peer certificate, nothing else. */
function bareConnect(i: number): Promise<void> {
  const ep = at(i);
  return new Promise((resolve, reject) => {
    const s = connect({ host: ep.host, port: ep.port, servername: ep.serverName, rejectUnauthorized: false }, () => {
      s.getPeerCertificate(true);
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** What certops does per endpoint: handshake, the served chain, a strict parse, chain and host validation, findings. */
async function certopsScan(i: number): Promise<void> {
  const ep = at(i);
  const served = await probeTls(ep.host, ep.port, { serverName: ep.serverName, timeoutMs: 5000 });
  const [leaf, ...rest] = served.chain.map((d) => parseCertificate(d));
  const verdict = validateChain({ leaf, intermediates: rest, roots, at: new Date(), host: ep.serverName, purpose: 'serverAuth' });
  endpointFindings(verdict, served);
}

function sslscan(i: number): Promise<void> {
  const ep = at(i);
  return new Promise((resolve, reject) => {
    const child = spawn('sslscan', ['--no-colour', '--show-certificate', '--no-ciphersuites', '--no-fallback', '--no-renegotiation', '--no-compression', '--no-heartbleed', '--no-groups', `--sni-name=${ep.serverName}`, `${ep.host}:${ep.port}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('close', (code) => (code === 0 && out.includes('BEGIN CERTIFICATE') ? resolve() : reject(new Error(`sslscan exited ${code}`))));
  });
}

await pool(200, CONCURRENCY, bareConnect);
await pool(200, CONCURRENCY, certopsScan);
const bare: number[] = [];
const ours: number[] = [];
for (let round = 0; round < 3; round++) {
  bare.push(await pool(PROBES, CONCURRENCY, bareConnect));
  ours.push(await pool(PROBES, CONCURRENCY, certopsScan));
}
const ssl = await pool(SSLSCAN_PROBES, CONCURRENCY, sslscan);
await nginx.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`endpoints: ${endpoints.length} nginx TLS servers on loopback, concurrency ${CONCURRENCY}`);
console.log(`bare tls.connect loop:        ${Math.round(median(bare))} endpoints/s`);
console.log(`certops scan (probe+analysis): ${Math.round(median(ours))} endpoints/s`);
console.log(`sslscan --show-certificate:    ${Math.round(ssl)} endpoints/s`);
console.log(`ratio certops/bare: ${(median(ours) / median(bare)).toFixed(2)} (target >= 0.8)`);
console.log(`ratio certops/sslscan: ${(median(ours) / ssl).toFixed(1)} (target > 1)`);
