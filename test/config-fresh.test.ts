import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { parse } from 'yaml';
import { apiCall } from './support/api.ts';
import { cli } from './support/cli.ts';

/** A home that never had a configuration: the defaults apply, and setting them records nothing. */
describe('configuration on a fresh home', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-config-fresh-'));
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ ...process.env, CERTOPS_HOME: home, PORT: '0' });
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('config get prints, before anything is recorded, the default policy as comments that are a valid policy once uncommented', async () => {
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const got = await cli(['config', 'get', '--endpoint', stack.url], { CERTOPS_HOME: home, CERTOPS_TOKEN: token });
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^# no configuration recorded yet: the defaults apply\n# The policy in force by default/);
    expect(got.stdout.split('\n').filter(Boolean).every((line) => line.startsWith('#'))).toBe(true);
    const uncommented = parse(got.stdout.split('\n').slice(2).map((line) => line.replace(/^# /, '')).join('\n'));
    expect(uncommented.policy.rules[0].allowedDomains).toEqual(['example.com', 'example.net', 'example.org', 'test', 'localhost']);
    // The API checks it as config set would, and a policy stated in full asks a second admin; nothing is recorded.
    expect(await apiCall(stack.url, token, 'PUT', '/config?dryRun=true', uncommented)).toMatchObject({ status: 200, body: { wouldBe: 'pending', version: 0, changed: ['policy'] } });
  });

  it('answers unchanged (version 0) to the defaults sent back as they are, and records no empty version', async () => {
    const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, readFileSync(stack.tokenFile, 'utf8').trim(), method, path, body);
    expect((await api('GET', '/config')).body).toEqual({ version: 0, document: {} });
    expect(await api('PUT', '/config', {})).toMatchObject({ status: 200, body: { status: 'unchanged', version: 0 } });
    expect((await api('GET', '/config/history')).body.items).toEqual([]);
    // A document that says something is the first version.
    expect(await api('PUT', '/config', { inventory: { scanPorts: [443, 8443] } })).toMatchObject({ status: 200, body: { status: 'applied', version: 1 } });
  });
});
