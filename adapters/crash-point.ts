/**
 * The crash tests' harness: when CERTOPS_CRASH_AT names this point, the process dies here at once,
 * as `kill -9` would (no finally, no flush), the first time it gets there once armed. The local
 * stack arms the points when it serves (its own start writes events too, and a test crashes the
 * work it sends). The bundles built for Lambda have the variable compiled out (serverless.yml,
 * esbuild `define`), so only test and local runs can stop anywhere.
 */
let armed = false;

export function armCrashPoints(): void {
  armed = true;
}

export function crashPoint(point: string): void {
  if (armed && process.env.CERTOPS_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
