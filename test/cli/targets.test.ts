import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { eventually, startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';

/** `certops targets list|add|remove` and `certops deploy`: targets without curl, and a removal that can be tried first. */
describe('deployment targets from the CLI', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-cli-targets-'));
  let stack: RunningStack;
  let env: Record<string, string>;
  const api = (method: string, path: string, body?: unknown, token = readFileSync(stack.tokenFile, 'utf8').trim()) => apiCall(stack.url, token, method, path, body);

  beforeAll(async () => {
    stack = await startStack(home);
    env = { CERTOPS_HOME: home };
  }, 60_000);
  afterAll(() => stack?.stop());

  it('registers, lists, deploys to and removes a target; removal detaches it from the certificates and is on the record', async () => {
    const directory = join(home, 'targets', 'web-01');
    expect((await cli(['targets', 'add', 'web-01', '--directory', directory], env)).stdout).toBe('registered web-01 (filesystem)\n');
    expect((await cli(['targets', 'list'], env)).stdout).toMatch(new RegExp(`^web-01 +filesystem +${directory}\\n$`));
    const outside = await cli(['targets', 'add', 'etc', '--directory', '/etc'], env);
    expect(outside).toMatchObject({ code: 1 });
    expect(outside.stderr).toMatch(/^certops: 400 invalid_input: directory must be inside .* \(field: directory\)\n$/);

    const shared = await cli(['targets', 'add', 'shared', '--directory', join(home, 'targets', 'shared'), '--allow-role', 'requester', '--allow-environment', 'dev', '--allow-environment', 'staging', '--verify-at', '127.0.0.1:8443'], env);
    expect(shared.code, shared.stderr).toBe(0);
    expect((await api('GET', '/targets')).body.items.find((t: { name: string }) => t.name === 'shared')).toMatchObject({ endpoint: '127.0.0.1:8443', allowed: { roles: ['requester'], environments: ['dev', 'staging'] } });
    expect((await cli(['targets', 'remove', 'shared'], env)).code).toBe(0);

    const id = JSON.parse((await cli(['request', 'deploy.example.com', '--json'], env)).stdout).certificateId;
    const deployed = await cli(['deploy', id, '--target', 'web-01'], env);
    expect(deployed.stdout).toBe(`${id} deploys to web-01\n  web-01: deployed\n`);
    expect(existsSync(join(directory, 'privkey.pem'))).toBe(true);
    expect((await cli(['deploy', id], env)).stderr).toMatch(/required option '--target <name>' not specified/);

    const dry = await cli(['targets', 'remove', 'web-01', '--dry-run'], env);
    expect(dry.stdout).toBe(`would remove web-01; 1 certificates would stop deploying there; nothing was removed\n  ${id}  CN=deploy.example.com\n`);
    expect((await api('GET', `/certificates/${id}`)).body.targets).toEqual(['web-01']);
    expect((await api('GET', '/targets')).body.items).toHaveLength(1);

    const viewer = (await api('POST', '/tokens', { name: 'watcher', role: 'viewer' })).body.token;
    expect((await cli(['targets', 'remove', 'web-01'], { ...env, CERTOPS_TOKEN: viewer })).stderr).toMatch(/^certops: 403 forbidden/);

    const removed = await cli(['targets', 'remove', 'web-01'], env);
    expect(removed.stdout).toBe(`removed web-01; 1 certificates no longer deploy there\n  ${id}  CN=deploy.example.com\n`);
    expect((await api('GET', `/certificates/${id}`)).body.targets).toEqual([]);
    expect((await cli(['targets', 'list'], env)).stdout).toBe('(no targets)\n');
    const again = await cli(['targets', 'remove', 'web-01'], env);
    expect(again.stderr).toBe('certops: 404 not_found: no target web-01 (field: name)\n');
    const records = await eventually(async () => {
      const events = (await api('GET', '/events?limit=1000')).body.items as { detailType: string; detail: Record<string, unknown> }[];
      const found = events.filter((e) => e.detailType === 'target.removed' && e.detail.target === 'web-01');
      return found.length > 0 && found;
    }, 'target.removed in the audit trail');
    expect(records).toHaveLength(1);
    expect(records[0].detail).toMatchObject({ target: 'web-01', targetType: 'filesystem', removedBy: 'admin', detachedFrom: [id] });
  }, 60_000);
});
