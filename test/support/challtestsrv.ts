import { spawn } from 'node:child_process';
import { freePort } from './ports.ts';

/** pebble-challtestsrv as a DNS server: every name is 127.0.0.1, and TXT records are set through its management API. */
export interface ChallengeTestDns {
  /** host:port of its DNS server. */
  dnsAddress: string;
  /** Its management API (set-txt, clear-txt). */
  managementUrl: string;
  setTxt(host: string, value: string): Promise<void>;
  output(): string;
  close(): Promise<void>;
}

/** Starts pebble-challtestsrv (Debian's pebble package) with only its DNS server, on free ports. */
export async function startChallengeTestDns(): Promise<ChallengeTestDns> {
  const [dnsPort, managementPort] = [await freePort(), await freePort()];
  const child = spawn('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${managementPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const close = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  for (const deadline = Date.now() + 15_000; !/Starting management server/.test(output); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await close();
      throw new Error(`pebble-challtestsrv did not start:\n${output}`);
    }
  }
  return {
    dnsAddress: `127.0.0.1:${dnsPort}`,
    managementUrl,
    async setTxt(host, value) {
      const res = await fetch(`${managementUrl}/set-txt`, { method: 'POST', body: JSON.stringify({ host, value }) });
      if (!res.ok) throw new Error(`set-txt answered ${res.status}`);
    },
    output: () => output,
    close,
  };
}
