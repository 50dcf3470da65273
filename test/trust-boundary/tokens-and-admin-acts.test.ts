import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type RunningStack } from '../support/processes.ts';
import { cli } from '../support/cli.ts';

/** Tokens expire, can be listed and revoked, names are unique; every admin act is in the audit trail. */
describe('tokens and admin acts', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-tokens-'));
  let stack: RunningStack;
  let admin: string;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const audit = async (type: string) => (await call(admin, 'GET', `/events?type=${type}&limit=100`)).body.items as { detail: Record<string, unknown> }[];

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), 'tokens:\n  defaultDays: 30\n  maxDays: 60\n');
    stack = await startStack(home);
    admin = readFileSync(stack.tokenFile, 'utf8').trim();
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('gives tokens the configured default lifetime and refuses longer ones', async () => {
    const minted = await call(admin, 'POST', '/tokens', { name: 'dana', role: 'viewer' });
    expect(minted.status).toBe(201);
    const days = (Date.parse(minted.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const tooLong = await call(admin, 'POST', '/tokens', { name: 'erin', role: 'viewer', expiresAt: new Date(Date.now() + 61 * 86_400_000).toISOString() });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.field).toBe('expiresAt');
    const past = await call(admin, 'POST', '/tokens', { name: 'erin', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
  });

  it('stops accepting a token once it has expired', async () => {
    const minted = await call(admin, 'POST', '/tokens', { name: 'brief', role: 'viewer', expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await call(minted.body.token, 'GET', '/certificates')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    const refused = await call(minted.body.token, 'GET', '/certificates');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toMatch(/expired/);
  });

  it('lists tokens without their secrets and revokes one at once', async () => {
    const minted = await call(admin, 'POST', '/tokens', { name: 'frank', role: 'requester' });
    const listed = await call(admin, 'GET', '/tokens');
    expect(listed.status).toBe(200);
    const frank = listed.body.items.find((t: { name: string }) => t.name === 'frank');
    expect(frank).toMatchObject({ tokenId: minted.body.tokenId, role: 'requester', createdBy: 'admin' });
    expect(JSON.stringify(listed.body)).not.toContain(minted.body.token);
    expect(JSON.stringify(listed.body)).not.toMatch(/secretHash/);
    expect((await call(minted.body.token, 'GET', '/certificates')).status).toBe(200);
    const revoked = await call(admin, 'DELETE', `/tokens/${minted.body.tokenId}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ revokedBy: 'admin', name: 'frank' });
    const refused = await call(minted.body.token, 'GET', '/certificates');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toMatch(/revoked/);
    expect((await call(admin, 'DELETE', '/tokens/0000000000deadbeef00')).status).toBe(404);
  });

  it('keeps names and event sources unique among live tokens, and frees them on revocation', async () => {
    const first = await call(admin, 'POST', '/tokens', { name: 'grace', role: 'requester', eventSources: ['com.example.grace'] });
    expect(first.status).toBe(201);
    const sameName = await call(admin, 'POST', '/tokens', { name: 'grace', role: 'admin' });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error.field).toBe('name');
    const sameSource = await call(admin, 'POST', '/tokens', { name: 'heidi', role: 'requester', eventSources: ['com.example.grace'] });
    expect(sameSource.status).toBe(409);
    expect(sameSource.body.error.field).toBe('eventSources');
    // The refused token took nothing: heidi's name is still free.
    expect((await call(admin, 'POST', '/tokens', { name: 'heidi', role: 'viewer' })).status).toBe(201);
    for (const source of ['certops.issuance', 'aws.events', 'has space']) {
      const bad = await call(admin, 'POST', '/tokens', { name: 'ivan', role: 'requester', eventSources: [source] });
      expect(bad.status, source).toBe(400);
    }
    await call(admin, 'DELETE', `/tokens/${first.body.tokenId}`);
    expect((await call(admin, 'POST', '/tokens', { name: 'grace', role: 'requester', eventSources: ['com.example.grace'] })).status).toBe(201);
  });

  it('puts token creation and revocation, target registration and configuration changes in the audit trail', async () => {
    await call(admin, 'POST', '/targets', { name: 'audited', type: 'filesystem', directory: join(home, 'targets', 'audited') });
    await call(admin, 'POST', '/targets', { name: 'audited', type: 'filesystem', directory: join(home, 'targets', 'audited'), reloadCommand: 'true' });
    const created = await eventually(async () => {
      const found = (await audit('token.created')).filter((r) => r.detail.name === 'frank');
      return found.length > 0 && found;
    }, 'token.created for frank');
    expect(created[0].detail).toMatchObject({ role: 'requester', createdBy: 'admin' });
    expect(JSON.stringify(await audit('token.created'))).not.toMatch(/cop_[0-9a-f]{20}_/);
    await eventually(async () => (await audit('token.revoked')).some((r) => r.detail.name === 'frank' && r.detail.revokedBy === 'admin'), 'token.revoked for frank');
    const targets = await eventually(async () => {
      const found = await audit('target.registered');
      return found.length >= 2 && found;
    }, 'two target.registered records');
    expect(targets.map((t) => [t.detail.replaced, t.detail.reloadCommand])).toEqual([[false, undefined], [true, 'true']]);
    // The start recorded the configuration file it read.
    const configured = await audit('config.changed');
    expect(configured[0].detail).toMatchObject({ changed: ['tokens'], changedBy: expect.stringContaining('config.yaml') });
    expect((await call(admin, 'GET', '/audit/verify')).body.valid).toBe(true);
  });

  it('records a configuration edited between two starts, and mints a new admin token when the one on file was revoked', async () => {
    const adminId = (await call(admin, 'GET', '/tokens')).body.items.find((t: { name: string }) => t.name === 'admin').tokenId;
    await call(admin, 'DELETE', `/tokens/${adminId}`);
    expect(await stack.stop()).toBe(0);
    writeFileSync(join(home, 'config.yaml'), 'tokens:\n  defaultDays: 20\n  maxDays: 60\npolicy:\n  rules:\n    - allowedDomains: [example.com]\n');
    stack = await startStack(home);
    expect(stack.firstStart).toBe(true);
    const fresh = readFileSync(stack.tokenFile, 'utf8').trim();
    expect(fresh).not.toBe(admin);
    admin = fresh;
    expect((await call(admin, 'GET', '/tokens')).status).toBe(200);
    const changes = await eventually(async () => {
      const found = await audit('config.changed');
      return found.length >= 2 && found;
    }, 'the second config.changed');
    expect(changes[1].detail).toMatchObject({ changed: ['policy', 'tokens.defaultDays'], previousHash: changes[0].detail.hash });
    // A restart with the same file records nothing new; going back to the earlier file is a change of its own.
    expect(await stack.stop()).toBe(0);
    stack = await startStack(home);
    expect(stack.firstStart).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await audit('config.changed')).toHaveLength(2);
    expect(await stack.stop()).toBe(0);
    writeFileSync(join(home, 'config.yaml'), 'tokens:\n  defaultDays: 30\n  maxDays: 60\n');
    stack = await startStack(home);
    const back = await eventually(async () => {
      const found = await audit('config.changed');
      return found.length >= 3 && found;
    }, 'the change back');
    expect(back[2].detail).toMatchObject({ hash: changes[0].detail.hash, previousHash: changes[1].detail.hash });
  });

  it('lists and revokes tokens from the CLI', async () => {
    const env = { CERTOPS_HOME: home };
    const minted = await cli(['token', 'create', '--role', 'viewer', '--name', 'judy', '--endpoint', stack.url, '--json'], env);
    const { tokenId } = JSON.parse(minted.stdout);
    const listed = await cli(['token', 'list', '--endpoint', stack.url], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${tokenId}\\s+judy\\s+viewer\\s+expires \\S+\\s+made by admin`));
    const dry = await cli(['token', 'revoke', tokenId, '--dry-run', '--endpoint', stack.url], env);
    expect(dry.stdout).toBe(`would revoke ${tokenId} (judy, viewer); nothing was revoked\n`);
    expect((await cli(['token', 'list', '--endpoint', stack.url], env)).stdout).toMatch(new RegExp(`${tokenId}\\s+judy\\s+viewer\\s+expires`));
    const revoked = await cli(['token', 'revoke', tokenId, '--endpoint', stack.url], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked .* \(judy\)/);
    expect((await cli(['token', 'revoke', 'nope', '--endpoint', stack.url], env)).code).not.toBe(0);
  });
});
