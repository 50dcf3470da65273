import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxConf } from './nginx-conf.ts';
import { freePort, waitUntilListening } from './ports.ts';
import { openssl } from './processes.ts';

/**
 * nginx serving TLS from a certops filesystem target (fullchain.pem and privkey.pem in `dir`),
 * with a master process so `reloadCommand` can reload it as on a real host.
 */
export async function startNginxSite(dir: string, serverName: string): Promise<{ port: number; reloadCommand: string; process: ChildProcess; close(): Promise<void> }> {
  const prefix = mkdtempSync(join(tmpdir(), 'certops-nginx-site-'));
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(dir, { recursive: true });
  // A fresh host starts with a throwaway certificate until certops deploys one.
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=bootstrap', '-days', '1', '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem')]);
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConf(prefix, [`server {
    listen 127.0.0.1:${port} ssl;
    server_name ${serverName};
    ssl_certificate ${dir}/fullchain.pem;
    ssl_certificate_key ${dir}/privkey.pem;
    return 200 "ok\\n";
  }`], { masterProcess: true }));
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  await waitUntilListening(child, [port], 'nginx');
  return {
    port,
    reloadCommand: `nginx -p ${prefix} -c ${conf} -s reload`,
    process: child,
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
