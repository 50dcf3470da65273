import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface Bind9 {
  /** host:port it answers on (UDP and TCP). */
  address: string;
  port: number;
  zone: string;
  /** The TSIG key that may update the zone (RFC 2136 with RFC 8945). */
  key: { name: string; algorithm: 'hmac-sha256'; secret: string };
  output(): string;
  close(): Promise<void>;
}

/**
 * BIND 9 (Debian's `bind9`) as the primary of `zone`, every name in it 127.0.0.1, taking dynamic
 * updates signed with its TSIG key, on a free loopback port.
 */
export async function startBind9(zone = 'example.test'): Promise<Bind9> {
  const dir = mkdtempSync(join(tmpdir(), 'certops-bind9-'));
  const port = await freePort();
  const key = { name: 'certops-update', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') };
  writeFileSync(join(dir, 'named.conf'), [
    `options { directory "${dir}"; listen-on port ${port} { 127.0.0.1; }; listen-on-v6 { none; }; pid-file "${dir}/named.pid"; recursion no; dnssec-validation no; };`,
    `key "${key.name}" { algorithm ${key.algorithm}; secret "${key.secret}"; };`,
    `zone "${zone}" { type primary; file "${dir}/zone.db"; allow-update { key "${key.name}"; }; };`,
    'controls { };',
  ].join('\n'));
  writeFileSync(join(dir, 'zone.db'), `$TTL 60\n@ IN SOA ns.${zone}. admin.${zone}. 1 60 60 600 60\n@ IN NS ns.${zone}.\n@ IN A 127.0.0.1\n* IN A 127.0.0.1\n`);
  const child = spawn('named', ['-g', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const close = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  for (const deadline = Date.now() + 15_000; !/all zones loaded/.test(output) || !/running/.test(output); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await close();
      throw new Error(`named did not start:\n${output}`);
    }
  }
  return { address: `127.0.0.1:${port}`, port, zone, key, output: () => output, close };
}
