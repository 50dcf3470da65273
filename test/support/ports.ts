import type { ChildProcess } from 'node:child_process';
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

/** Daemons such as nginx print nothing when they start well: wait until every port is taken. */
export async function waitUntilListening(child: ChildProcess, ports: number[], what: string, log: () => string = () => ''): Promise<void> {
  const started = Date.now();
  for (;;) {
    if ((await Promise.all(ports.map(listening))).every(Boolean)) return;
    if (child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`${what} did not start (exit ${child.exitCode}) ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
