import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where the test run's AWS calls are recorded (vitest.config.ts sets CERTOPS_RECORD_AWS_CALLS; the IAM coverage test reads them). */
export const RECORDED_CALLS = resolve(ROOT, '.aws-calls');
/** Where the test run's API answers are recorded (vitest.config.ts sets CERTOPS_RECORD_API_ANSWERS; test/after-suite/api-answers.test.ts reads them). */
export const RECORDED_ANSWERS = resolve(ROOT, '.api-answers');

/** Waits until the child prints a line matching `pattern`; rejects if it exits first or takes too long. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output so far:\n${buffer}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const m = buffer.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolvePromise(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (buffer += c.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code ?? signal}) before printing ${pattern}:\n${buffer}`));
    });
  });
}

export interface RunningStack {
  url: string;
  home: string;
  tokenFile: string;
  firstStart: boolean;
  /** host:port of the tls-alpn-01 validation responder, when CERTOPS_ACME_TLS_ALPN_PORT started one. */
  tlsAlpnResponder?: string;
  child: ChildProcess;
  /** Everything the process has written to stdout and stderr so far (its logs). */
  output(): string;
  stop(): Promise<number | null>;
}

/** Runs `certops serve` as a user would (a child process), on a free port. */
export async function startStack(home: string, env: Record<string, string> = {}): Promise<RunningStack> {
  const child = spawn(process.execPath, [resolve(ROOT, 'bin/certops.js'), 'serve', '--json'], {
    cwd: ROOT,
    env: { ...process.env, CERTOPS_HOME: home, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  // The start's answer (pretty-printed), not a log line before it (those are one line each).
  let info: { url: string; home: string; tokenFile: string; firstStart: boolean; tlsAlpnResponder?: string };
  try {
    info = JSON.parse((await waitForLine(child, /^\{\n {2}"url"[\s\S]*?\n\}\n/m))[0]);
  } catch (err) {
    // A stack that did not start as expected must not outlive the test.
    child.kill('SIGKILL');
    throw err;
  }
  return {
    ...info,
    child,
    output: () => output,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null) return r(child.exitCode);
      child.once('exit', (code) => r(code));
      child.kill('SIGINT');
    }),
  };
}

export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Polls `probe` until it returns something truthy. */
export async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
