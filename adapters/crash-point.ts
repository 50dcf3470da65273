/**
 * The crash tests' harness: when CERTOPS_CRASH_AT names this point, the process dies here at once,
 * as `kill -9` would (no finally, no flush), the first time it gets there. The bundles built for
 * Lambda have the variable compiled out (serverless.yml, esbuild `define`), so only test and local
 * runs can stop anywhere.
 */
export function crashPoint(point: string): void {
  if (process.env.CERTOPS_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
