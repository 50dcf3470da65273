import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitUntilListening } from './ports.ts';

/** rsyslogd (Debian's) on loopback: plain TCP and TLS listeners, every message's raw text written to a file. */
export async function startRsyslog(tls: { certPem: string; keyPem: string; caPem: string }): Promise<{ tcpPort: number; tlsPort: number; received(): string[]; process: ChildProcess; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'certops-rsyslog-'));
  writeFileSync(join(dir, 'cert.pem'), tls.certPem);
  writeFileSync(join(dir, 'key.pem'), tls.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.pem'), tls.caPem);
  const [tcpPort, tlsPort] = [await freePort(), await freePort()];
  const out = join(dir, 'received.log');
  writeFileSync(join(dir, 'rsyslog.conf'), `
global(workDirectory="${dir}" defaultNetstreamDriverCAFile="${dir}/ca.pem" defaultNetstreamDriverCertFile="${dir}/cert.pem" defaultNetstreamDriverKeyFile="${dir}/key.pem")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="raw" type="string" string="%rawmsg%\\n")
action(type="omfile" file="${out}" template="raw")
`);
  const child = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslog.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c) => (log += c));
  await waitUntilListening(child, [tcpPort, tlsPort], 'rsyslogd', () => log);
  return {
    tcpPort,
    tlsPort,
    received: () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    process: child,
    close: async () => {
      if (child.exitCode === null) {
        child.kill();
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
