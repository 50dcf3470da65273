import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../local/serverless-definition.ts';
import { tableClientConfig } from '../../adapters/dynamodb/table.ts';
import { ROOT, startStack, type RunningStack } from '../support/processes.ts';

/** Inputs per CI run: at least 10,000 in all, over every route and PutEvents. */
const HTTP_RUNS = Number(process.env.CERTOPS_FUZZ_HTTP_RUNS ?? 8000);
const BUS_RUNS = Number(process.env.CERTOPS_FUZZ_BUS_RUNS ?? 2000);

/** Field names certops reads, so generated bodies get past the first check and into the code behind it. */
const FIELDS = [
  'commonName', 'subjectAlternativeNames', 'csr', 'keyAlgorithm', 'returnPrivateKey', 'validityDays', 'profile', 'environment', 'owner', 'issuer', 'targets', 'name', 'role',
  'expiresAt', 'eventSources', 'type', 'directory', 'endpoint', 'url', 'secretEnv', 'region', 'reloadCommand', 'allowed', 'pem', 'regions', 'ports', 'legacyProtocols', 'comment',
  'reason', 'key', 'domains', 'start', 'kind', 'sink', 'serverName', 'certificateArn', 'secretId', 'caCertificatePem', 'owners', 'roles', 'environments', 'eventId',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf',
];
const QUERY = ['limit', 'nextToken', 'status', 'owner', 'environment', 'domain', 'expiringWithinDays', 'format', 'type', 'from', 'to', 'certificateId', 'sink', 'issuer', '__proto__'];

/** Names of Object.prototype's members: as values they probe every lookup by a caller's name. */
const prototypeNames = fc.constantFrom('toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf');
/** Values that broke something once, or sit on an edge: separators, escapes, huge, near-valid. */
const edges = fc.constantFrom('', ' ', '..', '../../etc/passwd', '%E0%A4%A', '%', '\u0000', 'a'.repeat(3000), 'fe80::1%eth0', '::1', '10.0.0.0/8', '0.0.0.0/0',
  '10.0.0.1', '*.example.com', 'example.com', 'x.example.com', 'local', 'admin', 'requester', 'tls-client', 'EC_P256', 'RSA_4096', 'keyCompromise', 'NaN', '1e309', '2026-13-45T99:00:00Z',
  '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnRlc3RjYTAeFw0y\n-----END CERTIFICATE-----\n', 'eyJwayI6IkNFUlRTIn0', 'https://127.0.0.1:1/', '/tmp/x');
const hostile = fc.oneof({ weight: 3, arbitrary: edges }, { weight: 2, arbitrary: prototypeNames }, { weight: 2, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) });
const { value: json } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, hostile, fc.integer(), fc.double(), fc.boolean(), fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), tie('value'), { maxKeys: 5 })),
}));
/** A body: an object of real field names, any JSON value, or text that is not JSON at all. */
const body = fc.oneof(fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 8 }), json, fc.string({ maxLength: 60 }).map((raw) => ({ notJson: raw })));

/** A valid body with one to three of its fields replaced by hostile values, dropped, or joined by a hostile key: fuzzing past the first check. */
function mutated(valid: Record<string, unknown>) {
  const keys = Object.keys(valid);
  const change = fc.record({
    key: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.constantFrom(...FIELDS) }),
    value: fc.oneof({ weight: 4, arbitrary: hostile }, { weight: 2, arbitrary: json }, { weight: 1, arbitrary: fc.constant(undefined) }),
  });
  return fc.array(change, { minLength: 1, maxLength: 3 }).map((changes) => {
    const out: Record<string, unknown> = { ...valid };
    for (const { key, value } of changes) {
      if (value === undefined) delete out[key];
      else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  });
}

const REQUEST = { commonName: 'fuzz.example.com', subjectAlternativeNames: ['www.fuzz.example.com', '10.0.0.7'], keyAlgorithm: 'EC_P256', validityDays: 30, profile: 'tls-server', issuer: 'local', environment: 'dev', owner: 'team-fuzz', targets: [] };

describe('fuzzing every route and PutEvents', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-fuzz-'));
  const routes = loadDefinition(ROOT).routes;
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  let answered = 0;

  const send = async (who: string, method: string, path: string, payload: unknown, headers: Record<string, string> = {}) => {
    const raw = payload && typeof payload === 'object' && 'notJson' in payload ? String((payload as { notJson: string }).notJson) : JSON.stringify(payload);
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { ...(tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : who === 'garbage' ? { authorization: 'Bearer cop_garbage' } : {}), 'content-type': 'application/json', ...headers },
      body: method === 'GET' || method === 'HEAD' ? undefined : raw,
    });
    const text = await res.text();
    answered++;
    return { status: res.status, text };
  };

  /** A valid body for each route that takes one, filled in once the stack runs. */
  const valid: Record<string, Record<string, unknown>> = {};
  /** Ids that exist, so generated path parameters sometimes reach a real certificate, request or token. */
  const ids: string[] = [];

  beforeAll(async () => {
    writeFileSync(join(home, 'config.yaml'), 'inventory:\n  scanLimits:\n    allowedRanges: [127.0.0.0/8]\n    allowedDomains: [localhost]\n');
    stack = await startStack(home, { CERTOPS_BUS_RETRY_MS: '10', CERTOPS_BUS_MAX_ATTEMPTS: '2', CERTOPS_SCAN_TIMEOUT_MS: '300' });
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const role of ['viewer', 'requester', 'approver'] as const) {
      const minted = JSON.parse((await send('admin', 'POST', '/tokens', { name: `fuzz-${role}`, role, eventSources: [`com.example.fuzz-${role}`] })).text);
      tokens[role] = minted.token;
      ids.push(minted.tokenId);
    }
    const issued = JSON.parse((await send('admin', 'POST', '/certificates', { commonName: 'seed.example.com' })).text);
    const pending = JSON.parse((await send('requester', 'POST', '/certificates', { commonName: 'seed.corp.internal' })).text);
    ids.push(issued.certificateId, issued.requestId, pending.requestId);
    const pem = JSON.parse((await send('admin', 'GET', `/certificates/${issued.certificateId}`, undefined)).text).certificatePem;
    Object.assign(valid, {
      'POST /certificates': REQUEST,
      'POST /tokens': { name: 'fuzzed', role: 'viewer', eventSources: ['com.example.fuzzed'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
      'POST /targets': { name: 'fuzzed', type: 'filesystem', directory: join(home, 'targets', 'fuzzed'), endpoint: '127.0.0.1:443', allowed: { owners: ['fuzz-requester'], roles: ['requester'], environments: ['dev'] } },
      'POST /imports': { pem, environment: 'dev', owner: 'team-fuzz' },
      'POST /scans': { targets: ['127.0.0.1'], ports: [443], legacyProtocols: false },
      'POST /requests/{id}/approve': { comment: 'fine' },
      'POST /requests/{id}/reject': { comment: 'no' },
      'POST /certificates/{id}/revoke': { reason: 'keyCompromise' },
      'POST /revocations': { issuer: 'CN=nobody', reason: 'keyCompromise', dryRun: true },
      'POST /certificates/{id}/targets': { targets: ['fuzzed'] },
      'POST /certificates/{id}/adopt': { issuer: 'local', targets: [] },
      'PUT /ct/watchlist': { domains: ['.example.com', 'fuzz.example.org'] },
      'POST /ct/logs': { url: 'http://127.0.0.1:1/ct/', key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE', start: 0, kind: 'rfc6962' },
      'POST /imports/acm': { regions: ['eu-west-1'] },
      'POST /siem/replay': { sink: 'default' },
    });
  }, 120_000);
  afterAll(async () => {
    expect(await stack.stop()).toBe(0);
  });

  it(`answers ${HTTP_RUNS} malformed requests over every route with no 5xx`, async () => {
    const request = fc.constantFrom(...routes).chain((route) => fc.record({
      route: fc.constant(route),
      who: fc.constantFrom('admin', 'requester', 'approver', 'viewer', 'none', 'garbage'),
      params: fc.array(fc.oneof(hostile, fc.constantFrom(...ids)), { minLength: 3, maxLength: 3 }),
      rawParams: fc.boolean(),
      query: fc.dictionary(fc.constantFrom(...QUERY), hostile, { maxKeys: 4 }),
      body: valid[route.routeKey] ? fc.oneof({ weight: 3, arbitrary: mutated(valid[route.routeKey]) }, { weight: 1, arbitrary: body }) : body,
      idempotencyKey: fc.option(hostile),
    }));
    await fc.assert(fc.asyncProperty(request, async ({ route, who, params, rawParams, query, body: payload, idempotencyKey }) => {
      // Admins scan without limits: a generated range would start a real scan of it.
      const caller = route.routeKey === 'POST /scans' && who === 'admin' ? 'requester' : who;
      let i = 0;
      const path = route.path.replace(/\{\w+\}/g, () => {
        const p = params[i++];
        return rawParams ? p.replace(/[/?#\s]/g, '_') : encodeURIComponent(p);
      });
      const search = new URLSearchParams(query).toString();
      const headers: Record<string, string> = {};
      if (idempotencyKey !== null) headers['idempotency-key'] = encodeURIComponent(idempotencyKey).slice(0, 200);
      const { status, text } = await send(caller, route.method, `${path}${search ? `?${search}` : ''}`, payload, headers);
      if (status >= 500) {
        // The stack logs what it did not handle: the cause goes with the failure.
        const logged = stack.output().split('\n').filter((l) => /"level":"ERROR"/.test(l)).slice(-3).join('\n');
        throw new Error(`${route.routeKey} as ${caller} answered ${status}: ${text.slice(0, 300)}\n${logged.slice(0, 3000)}`);
      }
    }), { numRuns: HTTP_RUNS, endOnFailure: true });
  }, 600_000);

  it(`answers ${BUS_RUNS} malformed PutEvents calls with no 5xx, and the issuance consumer survives what gets through`, async () => {
    const entry = fc.record({
      Source: fc.oneof(fc.constantFrom('com.example.fuzz-requester', 'certops.issuance', 'certops.renewal', 'aws.events', ''), hostile),
      DetailType: fc.oneof(fc.constantFrom('certificate.requested', 'certificate.issued', 'renewal.succeeded', 'request.approved'), hostile),
      Detail: fc.oneof(mutated(REQUEST).map((d) => JSON.stringify(d)), fc.dictionary(fc.constantFrom(...FIELDS), json, { maxKeys: 6 }).map((d) => JSON.stringify(d)), hostile),
      EventBusName: fc.option(fc.constantFrom('certops-local', 'default', 'arn:aws:events:us-east-1:0:event-bus/certops-local')),
    }, { requiredKeys: [] });
    const call = fc.record({
      who: fc.constantFrom('requester', 'approver', 'admin', 'none', 'garbage'),
      target: fc.oneof(fc.constant('AWSEvents.PutEvents'), fc.constantFrom('AWSStepFunctions.StartExecution', '__proto__', 'toString', 'AWSEvents.PutRule'), hostile),
      payload: fc.oneof(fc.record({ Entries: fc.array(entry, { maxLength: 12 }) }), body),
    });
    await fc.assert(fc.asyncProperty(call, async ({ who, target, payload }) => {
      const { status, text } = await send(who, 'POST', '/', payload, { 'x-amz-target': target.replace(/[^\x21-\x7e]/g, '_') || '_', 'content-type': 'application/x-amz-json-1.1' });
      if (status >= 500) throw new Error(`PutEvents as ${who} (${target}) answered ${status}: ${text.slice(0, 300)}`);
    }), { numRuns: BUS_RUNS, endOnFailure: true });
  }, 600_000);

  it('is still up afterwards, with an audit trail that verifies and no partial state in the table', async () => {
    expect(answered).toBeGreaterThanOrEqual(HTTP_RUNS + BUS_RUNS);
    // What the bus accepted has been delivered (or dead-lettered) by now.
    await new Promise((r) => setTimeout(r, 1500));
    expect(stack.child.exitCode).toBeNull();
    expect((await send('none', 'GET', '/health', undefined)).status).toBe(200);
    expect(JSON.parse((await send('admin', 'GET', '/audit/verify', undefined)).text)).toMatchObject({ valid: true });
    const client = new DynamoDBClient({ ...tableClientConfig(`unix:${join(home, 'dynamodb.sock')}`), region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client }, { TableName: 'certops-local' })) items.push(...(page.Items ?? []).map((i) => unmarshall(i)));
    client.destroy();
    const certificates = new Map(items.filter((i) => i.sk === 'CERT').map((c) => [c.id, c]));
    const problems: string[] = [];
    for (const r of items.filter((i) => i.sk === 'REQ')) {
      if (!['issued', 'pending_approval', 'pending_validation', 'rejected'].includes(String(r.status))) problems.push(`request ${r.requestId} left ${r.status}`);
      if (r.status === 'issued' && !certificates.has(r.certificateId)) problems.push(`request ${r.requestId} issued ${r.certificateId}, which is not in the inventory`);
    }
    for (const c of certificates.values()) {
      if (c.gsi5pk !== `STATUS#${c.status}`) problems.push(`certificate ${c.id} is ${c.status} but indexed as ${c.gsi5pk}`);
      if (c.source === 'issued' && c.keyRef !== undefined && c.keyRef !== `cert/${c.id}`) problems.push(`certificate ${c.id} names key ${c.keyRef}`);
    }
    for (const t of items.filter((i) => i.sk === 'TARGET')) {
      if (t.type === 'filesystem' && !String(t.directory).startsWith(join(home, 'targets'))) problems.push(`target ${t.name} writes to ${t.directory}`);
    }
    expect(problems).toEqual([]);
  });
});
