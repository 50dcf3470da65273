import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../local/serverless-definition.ts';
import { ROOT, startStack, type RunningStack } from '../support/processes.ts';

type Role = 'viewer' | 'requester' | 'approver' | 'admin';

/**
 * The least role of every route, written down here independently of the code (CONTRACT.md:
 * viewer reads, requester requests, approver decides, admin does everything).
 */
const LEAST_ROLE: Record<string, Role | 'public'> = {
  'GET /health': 'public', 'GET /ca/chain': 'public', 'GET /ca/local.crt': 'public', 'GET /crl/{file}': 'public', 'GET /.well-known/acme-challenge/{token}': 'public', 'GET /': 'public', 'GET /ui/{file}': 'public', 'GET /openapi.json': 'public',
  'GET /certificates': 'viewer', 'GET /certificates/{id}': 'viewer', 'GET /scans': 'viewer', 'GET /scans/{id}': 'viewer', 'GET /reports/inventory': 'viewer', 'GET /reports/expiry': 'viewer', 'GET /reports/readiness': 'viewer',
  'GET /requests': 'viewer', 'GET /requests/{id}': 'viewer', 'GET /targets': 'viewer', 'GET /ct/watchlist': 'viewer', 'GET /ct/logs': 'viewer', 'GET /ct/findings': 'viewer', 'GET /events': 'viewer',
  'POST /certificates': 'requester', 'POST /imports': 'requester', 'POST /scans': 'requester', 'POST /certificates/{id}/renew': 'requester',
  'POST /requests/{id}/approve': 'approver', 'POST /requests/{id}/reject': 'approver', 'POST /certificates/{id}/revoke': 'approver', 'POST /ct/findings/{id}/authorize': 'approver',
  'POST /tokens': 'admin', 'GET /tokens': 'admin', 'DELETE /tokens/{id}': 'admin', 'POST /imports/acm': 'admin', 'POST /revocations': 'admin', 'POST /targets': 'admin', 'DELETE /targets/{name}': 'admin',
  'POST /certificates/{id}/targets': 'admin', 'POST /certificates/{id}/adopt': 'admin', 'PUT /ct/watchlist': 'admin', 'POST /ct/logs': 'admin', 'POST /ct/logs/pause': 'admin', 'POST /ct/logs/resume': 'admin', 'POST /ct/logs/remove': 'admin', 'POST /ct/poll': 'admin',
  'GET /audit/verify': 'admin', 'GET /siem/dead-letters': 'admin', 'GET /siem/sinks': 'admin', 'POST /siem/replay': 'admin',
  'GET /config': 'admin', 'PUT /config': 'admin', 'GET /config/history': 'admin', 'GET /config/changes': 'admin', 'GET /config/changes/{id}': 'admin',
  'POST /config/changes/{id}/approve': 'admin', 'POST /config/changes/{id}/reject': 'admin',
  'GET /dead-letters': 'admin', 'POST /dead-letters/replay': 'admin',
  // ACME (RFC 8555): each POST proves its account or key with its JWS instead of a token.
  'GET /acme/{profile}/directory': 'public', 'HEAD /acme/{profile}/new-nonce': 'public', 'GET /acme/{profile}/new-nonce': 'public', 'POST /acme/{profile}/new-account': 'public',
  'POST /acme/{profile}/account/{id}': 'public', 'POST /acme/{profile}/account/{id}/orders': 'public', 'POST /acme/{profile}/key-change': 'public', 'POST /acme/{profile}/new-order': 'public', 'POST /acme/{profile}/order/{id}': 'public',
  'POST /acme/{profile}/order/{id}/finalize': 'public', 'POST /acme/{profile}/authz/{id}': 'public', 'POST /acme/{profile}/challenge/{id}/{type}': 'public',
  'POST /acme/{profile}/cert/{id}': 'public', 'POST /acme/{profile}/revoke-cert': 'public', 'GET /acme/{profile}/renewal-info/{id}': 'public',
  'POST /acme-eab': 'requester',
};
const ROLES: Role[] = ['viewer', 'requester', 'approver', 'admin'];
const may = (role: Role, least: Role) => role === 'admin' || least === 'viewer' || role === least;

/** Every HTTP route and AWS-protocol operation, for no token, a wrong, an expired and a revoked token, and each role. */
describe('route × caller matrix', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-matrix-'));
  const routes = loadDefinition(ROOT).routes;
  let stack: RunningStack;
  const callers: Record<string, string | undefined> = { none: undefined, wrong: 'cop_0123456789abcdef0123_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', malformed: 'Basic dXNlcjpwYXNz' };

  const send = async (caller: string | undefined, method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const authorization = caller === undefined ? undefined : caller.startsWith('Basic ') ? caller : `Bearer ${caller}`;
    const res = await fetch(`${stack.url}${path}`, { method, headers: { ...(authorization ? { authorization } : {}), 'content-type': 'application/json', ...headers }, body: method === 'GET' || method === 'HEAD' || method === 'DELETE' ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    stack = await startStack(home);
    const admin = readFileSync(stack.tokenFile, 'utf8').trim();
    callers.admin = admin;
    const mint = async (name: string, role: Role, expiresAt?: string) => (await send(admin, 'POST', '/tokens', { name, role, eventSources: [`com.example.${name}`], ...(expiresAt ? { expiresAt } : {}) })).body;
    for (const role of ['viewer', 'requester', 'approver'] as const) callers[role] = (await mint(role, role)).token;
    callers.expired = (await mint('soon-expired', 'admin', new Date(Date.now() + 1500).toISOString())).token;
    const revoked = await mint('revoked', 'admin');
    callers.revoked = revoked.token;
    await send(admin, 'DELETE', `/tokens/${revoked.tokenId}`, undefined);
    await new Promise((r) => setTimeout(r, 1600));
  });
  afterAll(async () => {
    expect(await stack.stop()).toBe(0);
  });

  it('covers every route serverless.yml declares', () => {
    expect(routes.map((r) => r.routeKey).sort()).toEqual(Object.keys(LEAST_ROLE).sort());
  });

  it('answers every route as its least role says, for every caller', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const least = LEAST_ROLE[route.routeKey];
      const path = route.path.replace('{file}', 'local.crl').replace(/\{\w+\}/g, '00000000000000000000000000000000');
      for (const [caller, token] of Object.entries(callers)) {
        const { status } = await send(token, route.method, path, {});
        const expected = least === 'public'
          ? 'not 401/403'
          : ['none', 'wrong', 'malformed', 'expired', 'revoked'].includes(caller) ? '401' : may(caller as Role, least) ? 'not 401/403' : '403';
        const ok = expected === 'not 401/403' ? status !== 401 && status !== 403 && status < 500 : String(status) === expected;
        if (!ok) failures.push(`${route.routeKey} as ${caller}: ${status}, expected ${expected}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers the AWS-protocol operations by who calls: PutEvents per entry by role, StartExecution to no outside caller', async () => {
    const aws = (caller: string | undefined, target: string, body: object) => send(caller, 'POST', '/', body, { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' });
    for (const caller of ['none', 'wrong', 'malformed', 'expired', 'revoked']) {
      expect((await aws(callers[caller], 'AWSEvents.PutEvents', { Entries: [{ Source: 'com.example.requester', DetailType: 'certificate.requested', Detail: '{"commonName":"m.example.com"}' }] })).status, caller).toBe(401);
      expect((await aws(callers[caller], 'AWSStepFunctions.StartExecution', { name: 'x', input: '{}' })).status, caller).toBe(401);
    }
    for (const role of ROLES) {
      const source = role === 'admin' ? 'com.example.unbound' : `com.example.${role}`;
      const put = await aws(callers[role], 'AWSEvents.PutEvents', { Entries: [{ Source: source, DetailType: 'certificate.requested', Detail: '{"commonName":"matrix.example.com"}' }] });
      expect(put.status, role).toBe(200);
      const code = put.body.Entries[0].ErrorCode;
      if (role === 'requester') expect(code, role).toBeUndefined();
      else if (role === 'admin') expect(code, role).toBe('NotAuthorizedForSourceException');
      else expect(code, role).toBe('AccessDeniedException');
      expect((await aws(callers[role], 'AWSStepFunctions.StartExecution', { name: 'x', input: '{}' })).status, role).toBe(403);
    }
  });
});
