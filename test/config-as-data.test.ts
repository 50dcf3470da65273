import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { cli } from './support/cli.ts';

const FILE = 'tokens:\n  defaultDays: 30\n  maxDays: 60\npolicy:\n  rules:\n    - allowedDomains: [example.com]\n      maxValidityDays: 90\n';

/**
 * The configuration is data in the table, versioned: the API reads and changes it, a change to
 * policy or issuers waits for a second admin, every change is in the audit trail with the diff, and
 * the local file is imported the same way.
 */
describe('configuration as data', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-config-'));
  let stack: RunningStack;
  let admin: string;
  let second: string;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const audit = async (type: string) => (await call(admin, 'GET', `/events?type=${type}&limit=100`)).body.items as { detail: Record<string, any> }[];
  const config = async () => (await call(admin, 'GET', '/config')).body;
  const issue = (name: string, validityDays = 60) => call(admin, 'POST', '/certificates', { commonName: name, validityDays });

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), FILE);
    stack = await startStack(home);
    admin = readFileSync(stack.tokenFile, 'utf8').trim();
    second = (await call(admin, 'POST', '/tokens', { name: 'bob', role: 'admin' })).body.token;
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('holds the imported file as version 1, and refuses a document with a mistake naming the field, changing nothing', async () => {
    const first = await config();
    expect(first).toMatchObject({ version: 1, location: join(home, 'config.yaml'), changedBy: expect.stringContaining('config.yaml'), document: { tokens: { defaultDays: 30 } } });
    const bad = await call(admin, 'PUT', '/config', { ...first.document, inventory: { scanPorts: [443, 70000] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('inventory.scanPorts');
    const badPolicy = await call(admin, 'PUT', '/config', { ...first.document, policy: { rules: [{ maxValidityDays: 'long' }] } });
    expect(badPolicy.status).toBe(400);
    expect(badPolicy.body.error.field).toMatch(/^policy\.rules\.0\./);
    expect((await call(admin, 'PUT', '/config', [1, 2])).status).toBe(400);
    const notPem = await call(admin, 'PUT', '/config', { ...first.document, inventory: { trustedRootsPem: 'hello' } });
    expect([notPem.status, notPem.body.error.field]).toEqual([400, 'inventory.trustedRootsPem']);
    expect((await call('cop_not_a_token', 'PUT', '/config', {})).status).toBe(401);
    const typo = await call(admin, 'PUT', '/config', { ...first.document, polcy: { rules: [] } });
    expect([typo.status, typo.body.error.field]).toEqual([400, 'polcy']);
    const deep = `{"inventory":{"scanTargets":${'['.repeat(5000)}"x"${']'.repeat(5000)}}}`;
    const nested = await fetch(`${stack.url}/config`, { method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: deep });
    expect([nested.status, (await nested.json()).error.message]).toEqual([400, expect.stringMatching(/nested deeper than 16/)]);
    const huge = await call(admin, 'PUT', '/config', { ...first.document, inventory: { scanTargets: Array.from({ length: 5000 }, (_, i) => `host-${i}.example.com`) } });
    expect([huge.status, huge.body.error.message]).toEqual([400, expect.stringMatching(/over 64 KiB/)]);
    expect((await config()).version).toBe(1);
  });

  it('applies at once only what one admin may change alone (where to scan); the rest waits', async () => {
    const current = await config();
    const applied = await call(admin, 'PUT', '/config', { ...current.document, inventory: { scanPorts: [443, 8443] } });
    expect(applied).toMatchObject({ status: 200, body: { status: 'applied', version: 2, changed: ['inventory'] } });
    expect((await config()).document.inventory).toEqual({ scanPorts: [443, 8443] });
    expect((await call(admin, 'PUT', '/config', (await config()).document)).body).toEqual({ status: 'unchanged', version: 2 });
    // Token lifetimes, ownership, deployment and the SIEM export are not where to scan: they wait.
    for (const section of [{ tokens: { defaultDays: 10, maxDays: 60 } }, { inventory: { scanPorts: [443, 8443], ownership: [] } }, { siem: { sinks: [] } }]) {
      const waiting = await call(admin, 'PUT', '/config', { ...(await config()).document, ...section });
      expect(waiting.body.status, JSON.stringify(section)).toBe('pending');
      expect((await call(second, 'POST', `/config/changes/${waiting.body.changeId}/reject`, {})).status).toBe(200);
    }
  });

  it('a policy change waits for a second admin: not in force before, in force after, on the record with who and the diff', async () => {
    const current = await config();
    const stricter = { ...current.document, policy: { rules: [{ allowedDomains: ['example.com'], maxValidityDays: 30 }] } };
    const proposed = await call(admin, 'PUT', '/config', stricter);
    expect(proposed).toMatchObject({ status: 202, body: { status: 'pending', changed: ['policy.rules'] } });
    const { changeId } = proposed.body;
    // Not yet in force: 60 days is still allowed.
    expect((await issue('before.example.com')).body.status).toBe('issued');
    const listed = await call(second, 'GET', '/config/changes?status=pending');
    expect(listed.body.items.map((c: { changeId: string }) => c.changeId)).toContain(changeId);
    const own = await call(admin, 'POST', `/config/changes/${changeId}/approve`, {});
    expect(own.status).toBe(403);
    expect(own.body.error.message).toMatch(/another admin/);
    // A token minted after the proposal is no second admin, whatever its name.
    const puppet = (await call(admin, 'POST', '/tokens', { name: 'Admin2', role: 'admin' })).body.token;
    const byPuppet = await call(puppet, 'POST', `/config/changes/${changeId}/approve`, {});
    expect([byPuppet.status, byPuppet.body.error.message]).toEqual([403, expect.stringMatching(/made after the change was proposed/)]);
    const approved = await call(second, 'POST', `/config/changes/${changeId}/approve`, { comment: 'agreed in CAB-12' });
    expect(approved.body).toMatchObject({ status: 'approved', decidedBy: 'bob', comment: 'agreed in CAB-12' });
    expect(await config()).toMatchObject({ version: 3, changedBy: 'admin', approvedBy: 'bob', changeId });
    const refused = await issue('after.example.com');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(refused.body)).toMatch(/30/);
    expect((await call(second, 'POST', `/config/changes/${changeId}/approve`, {})).status).toBe(409);
    const changed = await eventually(async () => (await audit('config.changed')).find((r) => r.detail.version === 3), 'config.changed v3 in the audit trail');
    expect(changed.detail).toMatchObject({ changedBy: 'admin', approvedBy: 'bob', changeId, diff: [{ path: 'policy.rules', before: [{ allowedDomains: ['example.com'], maxValidityDays: 90 }], after: [{ allowedDomains: ['example.com'], maxValidityDays: 30 }] }] });
    expect((await audit('config.change_proposed')).some((r) => r.detail.changeId === changeId && r.detail.proposedBy === 'admin')).toBe(true);
  });

  it('a proposal made against a version no longer in force cannot be approved; a rejected one never applies', async () => {
    const base = await config();
    const stale = await call(admin, 'PUT', '/config', { ...base.document, issuers: { pca: { type: 'acm-pca', certificateAuthorityArn: 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/x', region: 'eu-west-1' } } });
    expect(stale.status).toBe(202);
    expect((await call(admin, 'PUT', '/config', { ...base.document, inventory: { scanPorts: [443] } })).body.status).toBe('applied');
    const conflict = await call(second, 'POST', `/config/changes/${stale.body.changeId}/approve`, {});
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.message).toMatch(/propose it again/);
    const rejected = await call(second, 'POST', `/config/changes/${stale.body.changeId}/reject`, { comment: 'no PCA yet' });
    expect(rejected.body).toMatchObject({ status: 'rejected', decidedBy: 'bob' });
    expect((await config()).document.issuers).toBeUndefined();
    await eventually(async () => (await audit('config.change_rejected')).some((r) => r.detail.changeId === stale.body.changeId && r.detail.rejectedBy === 'bob'), 'config.change_rejected');
    expect((await call(admin, 'GET', '/config/changes/nope')).status).toBe(404);
  });

  it('an approval and a rejection at once: one wins, and a rejected change is never in force', async () => {
    for (let i = 0; i < 5; i++) {
      const base = await config();
      const proposed = await call(admin, 'PUT', '/config', { ...base.document, tokens: { defaultDays: 11 + i, maxDays: 60 } });
      const [approved, rejected] = await Promise.all([
        call(second, 'POST', `/config/changes/${proposed.body.changeId}/approve`, {}),
        call(second, 'POST', `/config/changes/${proposed.body.changeId}/reject`, {}),
      ]);
      expect([approved.status, rejected.status].sort()).toEqual([200, 409]);
      const change = (await call(admin, 'GET', `/config/changes/${proposed.body.changeId}`)).body;
      const inForce = (await config()).hash === change.hash;
      expect([change.status, inForce]).toEqual(approved.status === 200 ? ['approved', true] : ['rejected', false]);
      if (inForce) await call(admin, 'PUT', '/config', base.document).then((r) => call(second, 'POST', `/config/changes/${r.body.changeId}/approve`, {}));
    }
  });

  it('the CLI gets, diffs, sets and lists the history; a broken file is one line', async () => {
    const env = { CERTOPS_HOME: home };
    const got = await cli(['config', 'get', '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect(got.code).toBe(0);
    const version = (await config()).version;
    expect(got.stdout).toMatch(new RegExp(`^# version ${version}, by `));
    expect(got.stdout).toContain('defaultDays: 30');
    const file = join(home, 'wanted.yaml');
    writeFileSync(file, got.stdout.replace('defaultDays: 30', 'defaultDays: 15').replace('maxValidityDays: 30', 'maxValidityDays: 45'));
    const diff = await cli(['config', 'diff', file, '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect(diff.stdout.trim().split('\n')).toEqual([
      '~ policy.rules: [{"allowedDomains":["example.com"],"maxValidityDays":30}] -> [{"allowedDomains":["example.com"],"maxValidityDays":45}]',
      '~ tokens.defaultDays: 30 -> 15',
      '(config set would propose it: a second admin approves it)',
    ]);
    // The copy is checked as `config set` checks it, and nothing is recorded by a diff.
    const before = await config();
    const pending = async () => (await call(admin, 'GET', '/config/changes')).body.items.filter((c: { status: string }) => c.status === 'pending').length;
    const pendingBefore = await pending();
    writeFileSync(join(home, 'bad.yaml'), got.stdout.replace('maxValidityDays: 30', 'maxValidityDays: 30\n      approval: bogus'));
    const refused = await cli(['config', 'diff', join(home, 'bad.yaml'), '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect([refused.code, refused.stderr.trim()]).toEqual([1, 'certops: 400 invalid_input: configuration: policy.rules.0.approval must be allowed or never (field: policy.rules.0.approval)']);
    expect((await config()).version).toBe(before.version);
    expect(await pending()).toBe(pendingBefore);
    const set = await cli(['config', 'set', file, '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect(set.stdout).toMatch(/^waiting for a second admin: change \S+ \(policy\.rules, tokens\.defaultDays\); another admin runs: certops config approve \S+/);
    const changeId = set.stdout.split(' ')[6];
    const approve = await cli(['config', 'approve', changeId, '--comment', 'ok', '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: second });
    expect(approve.code).toBe(0);
    const history = await cli(['config', 'history', '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect(history.stdout).toMatch(new RegExp(`^v${version + 1} .* admin \\(approved by bob\\)  api\n {4}~ policy\\.rules`));
    expect(history.stdout).toMatch(/\nv1 .* file .*config\.yaml\n/);
    // A file import names its file once (its author is the file).
    expect(history.stdout).not.toMatch(/config\.yaml {2}\S*config\.yaml/);
    writeFileSync(file, 'policy: [unclosed');
    const broken = await cli(['config', 'set', file, '--endpoint', stack.url], { ...env, CERTOPS_TOKEN: admin });
    expect(broken.code).toBe(2);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a restart with the same file, or without it, keeps what the API changed; an edited file is the next version', async () => {
    const before = await config();
    expect(await stack.stop()).toBe(0);
    stack = await startStack(home);
    expect(await config()).toMatchObject({ version: before.version, hash: before.hash });
    expect(await stack.stop()).toBe(0);
    rmSync(join(home, 'config.yaml'));
    stack = await startStack(home);
    expect(await config()).toMatchObject({ version: before.version, hash: before.hash });
    expect(await stack.stop()).toBe(0);
    writeFileSync(join(home, 'config.yaml'), `${FILE}inventory:\n  scanPorts: [443, 8443]\n`);
    stack = await startStack(home);
    expect(await config()).toMatchObject({ version: before.version + 1, changedBy: expect.stringContaining('config.yaml'), document: { inventory: { scanPorts: [443, 8443] } } });
  });
});
