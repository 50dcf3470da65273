import type { ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';

/** A loopback port nothing listens on at the moment of asking. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
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
