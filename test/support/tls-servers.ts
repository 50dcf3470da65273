import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { makeCert, type TestCert } from './pki.ts';
import { nginxConf } from './nginx-conf.ts';
import { freePort, waitUntilListening } from './ports.ts';
import { waitForLine } from './processes.ts';

const DAY = 86_400_000;

/** The certificates a discovery test serves: one good, and one for each fault a scan must report. */
export async function scanFixtures() {
  const root = await makeCert({ subject: 'CN=Scan Test Root', ca: true });
  const intermediate = await makeCert({ subject: 'CN=Scan Test Intermediate', ca: true, issuer: root });
  const leaf = (names: string[], extra = {}) => makeCert({ subject: `CN=${names[0]}`, sans: names, eku: ['1.3.6.1.5.5.7.3.1'], issuer: intermediate, ...extra });
  return {
    root,
    intermediate,
    good: await leaf(['localhost', '127.0.0.1']),
    expired: await leaf(['localhost'], { notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - 2 * DAY) }),
    selfSigned: await makeCert({ subject: 'CN=localhost', sans: ['localhost'], eku: ['1.3.6.1.5.5.7.3.1'] }),
    wrongHost: await leaf(['other.example.com']),
    incomplete: await leaf(['localhost']),
  };
}

export type Fixtures = Awaited<ReturnType<typeof scanFixtures>>;
export type FixtureName = 'good' | 'expired' | 'selfSigned' | 'wrongHost' | 'incomplete';
export const FIXTURE_NAMES: FixtureName[] = ['good', 'expired', 'selfSigned', 'wrongHost', 'incomplete'];

/** What each server sends: the leaf, plus the intermediate unless the fault is an incomplete chain. */
export function servedPem(f: Fixtures, name: FixtureName): string {
  const cert: TestCert = f[name];
  return name === 'incomplete' || name === 'selfSigned' ? cert.pem : cert.pem + f.intermediate.pem;
}

/** A Node TLS server per fixture, on loopback (IPv4 and IPv6, so "localhost" reaches it either way). */
export async function startNodeTlsServers(f: Fixtures): Promise<{ ports: Record<FixtureName, number>; close(): Promise<void> }> {
  const servers: Server[] = [];
  const ports = {} as Record<FixtureName, number>;
  for (const name of FIXTURE_NAMES) {
    const server = createServer({ cert: servedPem(f, name), key: await f[name].keyPem() }, (s) => s.end());
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: false }, () => r()));
    ports[name] = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return { ports, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) };
}

/** nginx (Debian's package) serving every fixture on its own loopback port, plus one that still accepts TLS 1.0/1.1. */
export async function startNginx(f: Fixtures): Promise<{ ports: Record<FixtureName | 'legacy', number>; process: ChildProcess; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'certops-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const ports = {} as Record<FixtureName | 'legacy', number>;
  const blocks: string[] = [];
  for (const name of [...FIXTURE_NAMES, 'legacy'] as const) {
    const fixture = name === 'legacy' ? 'good' : name;
    ports[name] = await freePort();
    writeFileSync(join(dir, `${name}.crt`), servedPem(f, fixture));
    writeFileSync(join(dir, `${name}.key`), await f[fixture].keyPem(), { mode: 0o600 });
    blocks.push(`server {
      listen 127.0.0.1:${ports[name]} ssl;
      listen [::1]:${ports[name]} ssl;
      server_name localhost;
      ssl_certificate ${dir}/${name}.crt;
      ssl_certificate_key ${dir}/${name}.key;
      ${name === 'legacy' ? 'ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers DEFAULT@SECLEVEL=0;' : 'ssl_protocols TLSv1.2 TLSv1.3;'}
      return 200 "ok\\n";
    }`);
  }
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, blocks, { masterProcess: false }));
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'logs/error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitUntilListening(child, [ports.good], 'nginx');
  return { ports, process: child, close: async () => void (child.exitCode === null && (child.kill(), await new Promise((r) => child.once('exit', r)))) };
}

export { waitForLine };
