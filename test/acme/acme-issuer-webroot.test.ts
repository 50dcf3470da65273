import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { nginxConf } from '../support/nginx-conf.ts';
import { pebbleIssuerYaml, preparePebble, type Pebble } from '../support/pebble.ts';
import { freePort, waitUntilListening } from '../support/ports.ts';
import { startStack, type RunningStack } from '../support/processes.ts';

/**
 * http-01 (RFC 8555 8.3) answered by the web server that serves the names: certops writes each
 * answer into a filesystem target's directory, nginx serves it, Pebble validates there.
 */
describe('the ACME issuer with http-01 written to a webroot (nginx, Pebble)', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-acme-webroot-'));
  const webroot = join(home, 'targets', 'www');
  const env = { CERTOPS_HOME: home };
  let stack: RunningStack;
  let pebble: Pebble;
  let nginx: ChildProcess;

  beforeAll(async () => {
    mkdirSync(webroot, { recursive: true, mode: 0o755 });
    const port = await freePort();
    const prefix = mkdtempSync(join(tmpdir(), 'certops-nginx-webroot-'));
    mkdirSync(join(prefix, 'logs'));
    writeFileSync(join(prefix, 'nginx.conf'), nginxConf(prefix, [`server { listen 127.0.0.1:${port}; root ${webroot}; default_type text/plain; }`], { masterProcess: false }));
    nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' });
    await waitUntilListening(nginx, [port], 'nginx');
    const setup = await preparePebble(home);
    writeFileSync(join(home, 'config.yaml'), `issuers:\n${pebbleIssuerYaml(setup, 'pebble', ['webroot: www'])}`);
    stack = await startStack(home);
    // Pebble validates at nginx's port: certops' own server (another port) is not asked.
    pebble = await setup.start(port);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await pebble?.close();
    if (nginx?.exitCode === null) nginx.kill('SIGQUIT');
  });

  it('needs the target registered, then writes each answer there for the web server, and removes it once the order is ready', async () => {
    const early = await cli(['request', 'early.example.test', '--issuer', 'pebble', '--endpoint', stack.url], env);
    expect(early.stderr).toMatch(/issuers\.pebble\.webroot names www, which is not a registered filesystem target/);
    expect((await cli(['targets', 'add', 'www', '--directory', webroot, '--endpoint', stack.url], env)).stderr).toBe('');
    const run = await cli(['request', 'www.example.test', 'static.example.test', '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout).status).toBe('issued');
    expect(readdirSync(join(webroot, '.well-known', 'acme-challenge'))).toEqual([]);
    expect(pebble.output()).toMatch(/www\.example\.test/);
  }, 60_000);
});
