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
    expect(dry.stdout).toBe(`would remove web-01; 1 certificate would stop deploying there; nothing was removed\n  ${id}  CN=deploy.example.com\n`);
    expect((await api('GET', `/certificates/${id}`)).body.targets).toEqual(['web-01']);
    expect((await api('GET', '/targets')).body.items).toHaveLength(1);

    const viewer = (await api('POST', '/tokens', { name: 'watcher', role: 'viewer' })).body.token;
    expect((await cli(['targets', 'remove', 'web-01'], { ...env, CERTOPS_TOKEN: viewer })).stderr).toMatch(/^certops: 403 forbidden/);

    const removed = await cli(['targets', 'remove', 'web-01'], env);
    expect(removed.stdout).toBe(`removed web-01; 1 certificate no longer deploy there\n  ${id}  CN=deploy.example.com\n`);
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

  it('renews a certificate whose request named a target removed before it was approved: the target is skipped and the history says why', async () => {
    const directory = join(home, 'targets', 'gone-soon');
    expect((await cli(['targets', 'add', 'gone-soon', '--directory', directory], env)).code).toBe(0);
    const asked = JSON.parse((await cli(['request', 'late.corp.internal', '--target', 'gone-soon', '--json'], env)).stdout);
    expect(asked.status).toBe('pending_approval');
    expect((await cli(['targets', 'remove', 'gone-soon'], env)).code).toBe(0);
    const approver = (await api('POST', '/tokens', { name: 'carol', role: 'approver' })).body.token;
    const approved = await cli(['approve', asked.requestId, '--json'], { ...env, CERTOPS_TOKEN: approver });
    expect(approved.code, approved.stderr).toBe(0);
    const id = JSON.parse(approved.stdout).certificateId;
    const renewed = await cli(['renew', id, '--wait'], env);
    expect(renewed.code, renewed.stdout + renewed.stderr).toBe(0);
    expect(renewed.stdout).toMatch(/renewal succeeded/);
    const history = (await api('GET', `/certificates/${id}`)).body.history as { kind: string; target?: string; outcome: string; detail?: string }[];
    expect(history).toContainEqual(expect.objectContaining({ kind: 'deployment', target: 'gone-soon', outcome: 'failed', detail: expect.stringMatching(/target gone-soon is no longer registered; the successor is not deployed there/) }));
    expect(existsSync(join(directory, 'privkey.pem'))).toBe(false);
  }, 60_000);

  it('keeps every attachment and no removed target when removals and attachments of one certificate race', async () => {
    const id = (await api('POST', '/certificates', { commonName: 'race.example.com' })).body.certificateId;
    const rounds = [1, 2, 3, 4, 5];
    for (const i of rounds) {
      for (const name of [`ra-${i}`, `rb-${i}`]) expect((await api('POST', '/targets', { name, type: 'filesystem', directory: join(home, 'targets', name) })).status).toBe(201);
      expect((await api('POST', `/certificates/${id}/targets`, { targets: [`ra-${i}`] })).status).toBe(200);
    }
    const answers = await Promise.all(rounds.flatMap((i) => [api('DELETE', `/targets/ra-${i}`), api('POST', `/certificates/${id}/targets`, { targets: [`rb-${i}`] })]));
    // Every attachment that answered 200 holds (one that kept losing the race says 409 and changed nothing).
    const attached = rounds.filter((i) => answers[2 * i - 1].status === 200).map((i) => `rb-${i}`);
    expect(answers.every((a) => a.status === 200 || a.status === 409), JSON.stringify(answers.map((a) => a.status))).toBe(true);
    expect(attached.length).toBeGreaterThan(0);
    expect([...(await api('GET', `/certificates/${id}`)).body.targets].sort()).toEqual(attached);
  }, 60_000);
});
