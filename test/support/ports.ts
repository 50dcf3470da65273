import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The kernel hands out outgoing connections' local ports from here (Linux's default range): a port picked in it can be taken by any client before the daemon binds it. */
const EPHEMERAL_FROM = 32768;

/**
 * A loopback port nothing listens on at the moment of asking, chosen at random below the
 * ephemeral range, so the clients of tests running beside this one cannot take it before the
 * daemon it is meant for binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * (EPHEMERAL_FROM - 10_000));
    if (!(await listening(port))) return port;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(true));
    s.listen(port, '127.0.0.1', () => s.close(() => r(false)));
  });
}

/** TCP_LISTEN in the kernel's socket states, as /proc/net/tcp writes it. */
const LISTEN = '0A';

/**
 * Whether a socket listens on the TCP port, read from the kernel's tables (Linux): a probe
 * that binds would take the port from a daemon binding it at that moment, and one that
 * connects is a request single-connection daemons such as `openssl ocsp` stall on.
 */
function accepting(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((table) =>
    readFileSync(table, 'utf8')
      .split('\n')
      .slice(1)
      .some((line) => {
        const [, local, , state] = line.trim().split(/\s+/);
        return state === LISTEN && local?.endsWith(`:${hex}`);
      }),
  );
}

/** Daemons such as nginx print nothing when they start well: wait until every port accepts connections. */
export async function waitUntilListening(child: ChildProcess, ports: number[], what: string, log: () => string = () => ''): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (ports.every(accepting)) return;
    if (child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`${what} did not start (exit ${child.exitCode}) ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
