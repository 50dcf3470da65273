import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, `daemon off;
master_process on;
worker_processes 1;
user root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name ${serverName};
    ssl_certificate ${dir}/fullchain.pem;
    ssl_certificate_key ${dir}/privkey.pem;
    return 200 "ok\\n";
  }
}
`);
  const child = spawn('nginx', ['-p', prefix, '-c', conf], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = createServer();
      s.once('error', () => r(true));
      s.listen(port, '127.0.0.1', () => s.close(() => r(false)));
    });
    if (up) break;
    if (i > 200 || child.exitCode !== null) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
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
