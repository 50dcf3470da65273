import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../local/stack.ts';
import { apiCall } from './support/api.ts';

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

  it('answers unchanged (version 0) to the defaults sent back as they are, and records no empty version', async () => {
    const api = (method: string, path: string, body?: unknown) => apiCall(stack.url, readFileSync(stack.tokenFile, 'utf8').trim(), method, path, body);
    expect((await api('GET', '/config')).body).toEqual({ version: 0, document: {} });
    expect(await api('PUT', '/config', {})).toMatchObject({ status: 200, body: { status: 'unchanged', version: 0 } });
    expect((await api('GET', '/config/history')).body.items).toEqual([]);
    // A document that says something is the first version.
    expect(await api('PUT', '/config', { inventory: { scanPorts: [443, 8443] } })).toMatchObject({ status: 200, body: { status: 'applied', version: 1 } });
  });
});
