import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface ClientRun {
  code: number;
  output: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** certbot (Debian's), as its users run it non-interactively, with its state in `dir`; http-01 answered by its standalone server on `httpPort`. */
export function certbot(dir: string, args: string[], httpPort: number): Promise<ClientRun> {
  mkdirSync(dir, { recursive: true });
  return run('certbot', [...args, '--config-dir', join(dir, 'config'), '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs'), '--non-interactive', '--http-01-port', String(httpPort), '--http-01-address', '127.0.0.1']);
}

/** lego (Debian's), with its state in `dir`; `env` carries a DNS provider's settings. */
export function lego(dir: string, directoryUrl: string, args: string[], env: Record<string, string> = {}): Promise<ClientRun> {
  return run('lego', ['--server', directoryUrl, '--email', 'ops@example.test', '--accept-tos', '--path', dir, ...args], env);
}
