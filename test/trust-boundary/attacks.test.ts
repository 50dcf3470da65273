import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startStack, type RunningStack } from '../support/processes.ts';

const CONFIG = `
inventory:
  scanLimits:
    maxAddresses: 16
    maxConcurrentScans: 1
    allowedRanges: [127.0.0.0/8, '::1/128']
    allowedDomains: [localhost]
    allowedPorts: [443, SILENT_PORT]
  ownership:
    - domain: payments.example.com
      environment: prod
      owner: team-payments
policy:
  rules:
    - environment: prod
      allowedDomains: [payments.example.com]
      deniedNames: [admin.payments.example.com]
      ownerRequired: true
      maxValidityDays: 90
    - environment: lab
      allowedDomains: [example.com]
      deniedNames: [secret.example.com]
      allowWildcards: true
    - allowedDomains: [example.com, example.org, test, localhost]
      allowWildcards: true
      allowIpAddresses: private
deployment:
  rules:
    - domain: payments.example.com
      environment: prod
      targets: [rule-web]
`;

/**
 * The attacks issue 10 found, each written as the attacker would try it on the local stack. Every
 * one must fail to get what it wanted.
 */
describe('attacks on the trust boundary', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-attacks-'));
  let stack: RunningStack;
  const tokens: Record<string, string> = {};
  // A TCP server that never answers a handshake: a scan of it runs until its timeout.
  let silent: Server;
  let silentPort: number;

  const call = async (who: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { ...(who ? { authorization: `Bearer ${tokens[who] ?? who}` } : {}), 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const putEvents = (who: string | undefined, entries: object[]) => call(who, 'POST', '/', { Entries: entries }, { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' });
  const entry = (source: string, detailType: string, detail: object) => ({ EventBusName: 'certops-local', Source: source, DetailType: detailType, Detail: JSON.stringify(detail) });
  const example = (type: string) => JSON.parse(readFileSync(join(__dirname, '../../events/examples', `${type}.json`), 'utf8')).detail;
  const audit = async (type: string) => (await call('admin', 'GET', `/events?type=${type}&limit=500`)).body.items as { eventId: string; source: string; detail: Record<string, unknown> }[];

  beforeAll(async () => {
    silent = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    silentPort = (silent.address() as AddressInfo).port;
    writeFileSync(join(home, 'config.yaml'), CONFIG.replace('SILENT_PORT', String(silentPort)));
    stack = await startStack(home, { CERTOPS_BUS_RETRY_MS: '20' });
    tokens.admin = readFileSync(stack.tokenFile, 'utf8').trim();
    for (const [name, role, eventSources] of [['mallory', 'requester', ['com.example.mallory']], ['alice', 'approver', ['com.example.alice']], ['victor', 'viewer', ['com.example.victor']]] as const) {
      tokens[name] = (await call('admin', 'POST', '/tokens', { name, role, eventSources })).body.token;
    }
  });
  afterAll(async () => {
    silent?.close();
    expect(await stack.stop()).toBe(0);
  });

  it('PutEvents without a token, or with a wrong one, is refused outright', async () => {
    for (const who of [undefined, 'cop_00000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-token']) {
      const answer = await putEvents(who, [entry('com.example.mallory', 'certificate.requested', { commonName: 'x.example.com' })]);
      expect(answer.status, String(who)).toBe(401);
      expect(answer.body.__type).toBe('UnrecognizedClientException');
    }
  });

  it('a forged certificate.issued naming the CA key as its key is refused, and no target ever receives a CA key', async () => {
    const dir = join(home, 'targets', 'victim-web');
    expect((await call('admin', 'POST', '/targets', { name: 'victim-web', type: 'filesystem', directory: dir })).status).toBe(201);
    const forged = { ...example('certificate.issued'), keyRef: 'ca/intermediate', targets: ['victim-web'], eventId: 'forged-issued-1' };
    const answer = await putEvents('mallory', [entry('certops.issuance', 'certificate.issued', forged), entry('com.example.mallory', 'certificate.issued', forged)]);
    expect(answer.body.FailedEntryCount).toBe(2);
    expect(answer.body.Entries.map((e: { ErrorCode: string }) => e.ErrorCode)).toEqual(['NotAuthorizedForSourceException', 'NotAuthorizedForDetailTypeException']);
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect((await audit('certificate.issued')).some((r) => r.eventId === 'forged-issued-1')).toBe(false);
  });

  it('a forged renewal.succeeded cannot supersede a live certificate', async () => {
    const issued = await call('mallory', 'POST', '/certificates', { commonName: 'live.example.com' });
    const id = issued.body.certificateId;
    const forged = { ...example('renewal.succeeded'), certificateId: id, newCertificateId: 'f'.repeat(32), eventId: 'forged-renewal-1' };
    const answer = await putEvents('mallory', [entry('certops.renewal', 'renewal.succeeded', forged)]);
    expect(answer.body.Entries[0].ErrorCode).toBe('NotAuthorizedForSourceException');
    await new Promise((r) => setTimeout(r, 500));
    expect((await call('admin', 'GET', `/certificates/${id}`)).body).toMatchObject({ status: 'active' });
    expect((await call('admin', 'GET', `/certificates/${id}`)).body.supersededBy).toBeUndefined();
  });

  it('a requester renews only what she asked for: renewing another\'s certificate is refused', async () => {
    const victims = await call('admin', 'POST', '/certificates', { commonName: 'not-mallorys.example.com' });
    const refused = await call('mallory', 'POST', `/certificates/${victims.body.certificateId}/renew`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.field).toBe('id');
    const hers = await call('mallory', 'POST', '/certificates', { commonName: 'mallorys.example.com' });
    expect((await call('mallory', 'POST', `/certificates/${hers.body.certificateId}/renew`)).status).toBe(202);
  });

  it('StartExecution is not offered to outside callers, with or without a token', async () => {
    const issued = await call('mallory', 'POST', '/certificates', { commonName: 'saga.example.com' });
    const start = (who: string | undefined) => call(who, 'POST', '/', { name: 'renew-evil', stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:certops-local-renewal', input: JSON.stringify({ certificateId: issued.body.certificateId, executionName: 'renew-evil' }) }, { 'x-amz-target': 'AWSStepFunctions.StartExecution' });
    expect((await start(undefined)).status).toBe(401);
    const withToken = await start('admin');
    expect(withToken.status).toBe(403);
    expect(withToken.body.message).toMatch(/POST \/certificates\/\{id\}\/renew/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('admin', 'GET', `/certificates/${issued.body.certificateId}`)).body.history).toEqual([]);
  });

  it('an event with the id of an approval yet to come cannot put a forged approver in the audit trail', async () => {
    const pending = await call('mallory', 'POST', '/certificates', { commonName: 'approve-me.corp.internal' });
    expect(pending.status).toBe(202);
    const requestId = pending.body.requestId;
    const forged = { requestId, decidedBy: 'ceo', comment: 'looks fine', eventId: `approved:${requestId}`, occurredAt: new Date().toISOString(), correlationId: requestId };
    const answer = await putEvents('mallory', [entry('certops.issuance', 'request.approved', forged)]);
    expect(answer.body.FailedEntryCount).toBe(1);
    expect((await call('alice', 'POST', `/requests/${requestId}/approve`, { comment: 'checked' })).status).toBe(200);
    const approvals = await eventually(async () => {
      const found = (await audit('request.approved')).filter((r) => r.detail.requestId === requestId);
      return found.length > 0 && found;
    }, 'the approval in the audit trail');
    expect(approvals.map((a) => a.detail.decidedBy)).toEqual(['alice']);
    expect((await call('admin', 'GET', '/audit/verify')).body.valid).toBe(true);
  });

  it('a bus request is made by the principal its source is bound to: an approver cannot ask through the bus and approve it herself', async () => {
    const unbound = await putEvents('alice', [entry('com.example.provisioner', 'certificate.requested', { commonName: 'not-mine.corp.internal' })]);
    expect(unbound.body.Entries[0].ErrorCode).toBe('NotAuthorizedForSourceException');
    // An approver's token does not carry the right to request, whatever source it is bound to.
    const asApprover = await putEvents('alice', [entry('com.example.alice', 'certificate.requested', { commonName: 'self.corp.internal' })]);
    expect(asApprover.body.Entries[0].ErrorCode).toBe('AccessDeniedException');
    const asViewer = await putEvents('victor', [entry('com.example.victor', 'certificate.requested', { commonName: 'self.corp.internal' })]);
    expect(asViewer.body.Entries[0].ErrorCode).toBe('AccessDeniedException');
    // Mallory's own request through the bus is hers, whatever the event says of itself.
    const ok = await putEvents('mallory', [entry('com.example.mallory', 'certificate.requested', { commonName: 'via-bus.corp.internal', requestedBy: 'alice' })]);
    expect(ok.body.FailedEntryCount).toBe(0);
    const pending = await eventually(async () => (await audit('request.pending_approval')).find((r) => r.detail.commonName === 'via-bus.corp.internal'), 'the bus request waiting for approval');
    expect(pending.detail.requestedBy).toBe('mallory');
    const self = await call('mallory', 'POST', `/requests/${pending.detail.requestId}/approve`);
    expect(self.status).toBe(403);
  });

  it('a page that rebinds its own name to 127.0.0.1 gets nothing: other Host headers are refused', async () => {
    const port = Number(new URL(stack.url).port);
    // fetch will not send a Host header of our choosing; a browser after DNS rebinding sends its page's.
    const withHost = (host: string, path = '/certificates', method = 'GET') => new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers: { host, authorization: `Bearer ${tokens.admin}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    for (const host of [`evil.example:${port}`, `127.0.0.1.nip.io:${port}`, `localhost:${port + 1}`, `127.0.0.1:+${port}`, `127.0.0.1:0x${port.toString(16)}`, 'localhost']) expect(await withHost(host), host).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) expect(await withHost(host), host).toBe(200);
    // Only an ACME CA's http-01 fetch is answered for any Host (it names the host it validates; RFC 8555 8.3): a GET of that path, nothing else.
    const challenge = `/.well-known/acme-challenge/${'A'.repeat(43)}`;
    expect(await withHost(`shop.example.test:${port}`, challenge)).toBe(404);
    expect(await withHost(`evil.example:${port}`, challenge, 'POST')).toBe(421);
    expect(await withHost(`evil.example:${port}`, `/.well-known/acme-challenge/../../certificates`)).toBe(421);
  });

  it('a prod rule cannot be dodged by leaving the environment out, or by naming a weaker one', async () => {
    const omitted = await call('mallory', 'POST', '/certificates', { commonName: 'admin.payments.example.com' });
    expect(omitted.status).toBe(403);
    expect(omitted.body.reasons.join('; ')).toMatch(/admin.payments.example.com is a denied name/);
    const weaker = await call('mallory', 'POST', '/certificates', { commonName: 'admin.payments.example.com', environment: 'dev' });
    expect(weaker.status).toBe(400);
    expect(weaker.body.error).toMatchObject({ field: 'environment', message: expect.stringMatching(/belongs to prod/) });
    // Allowed names get the environment and owner the ownership rules give them, and the prod rule's limits.
    const placed = await call('mallory', 'POST', '/certificates', { commonName: 'shop.payments.example.com' });
    expect(placed.status).toBe(201);
    expect((await call('admin', 'GET', `/certificates/${placed.body.certificateId}`)).body).toMatchObject({ environment: 'prod', owner: 'team-payments' });
    const long = await call('mallory', 'POST', '/certificates', { commonName: 'long.payments.example.com', validityDays: 365 });
    expect(long.status).toBe(403);
  });

  it('a self-signed certificate for names nobody may have, smuggled into the inventory, is never signed by the CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-forged-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-subj', '/CN=login.bank.com', '-addext', 'subjectAltName=DNS:login.bank.com,DNS:*.corp.internal,IP:8.8.8.8', '-days', '36500'], { stdio: 'ignore' });
    const imported = await call('mallory', 'POST', '/imports', { pem: readFileSync(join(dir, 'c.pem'), 'utf8') });
    expect(imported.status).toBe(200);
    const id = imported.body.imported[0].id;
    // Discovered certificates are not renewed; adopting one for renewal passes the policy gate.
    expect((await call('mallory', 'POST', `/certificates/${id}/renew`)).status).toBe(403);
    expect((await call('admin', 'POST', `/certificates/${id}/renew`)).status).toBe(409);
    const adopted = await call('admin', 'POST', `/certificates/${id}/adopt`, { issuer: 'local' });
    expect(adopted.status).toBe(403);
    expect(adopted.body.error.message).toMatch(/login.bank.com is outside the allowed domains/);
    expect(adopted.body.error.message).toMatch(/8.8.8.8 is not a private or loopback address/);
    expect((await call('admin', 'GET', `/certificates/${id}`)).body.status).toBe('discovered');
    const signed = (await call('admin', 'GET', '/certificates?domain=login.bank.com')).body.items.filter((c: { source: string }) => c.source === 'issued');
    expect(signed).toEqual([]);
  });

  it('a requester may name only targets that allow them, for certificates of the environments they take', async () => {
    const prodDir = join(home, 'targets', 'prod-web');
    const marker = join(home, 'reloaded-by-mallory');
    expect((await call('admin', 'POST', '/targets', { name: 'prod-web', type: 'filesystem', directory: prodDir, reloadCommand: `touch ${marker}` })).status).toBe(201);
    expect((await call('admin', 'POST', '/targets', { name: 'team-web', type: 'filesystem', directory: join(home, 'targets', 'team-web'), allowed: { owners: ['mallory'] } })).status).toBe(201);
    expect((await call('admin', 'POST', '/targets', { name: 'prod-only', type: 'filesystem', directory: join(home, 'targets', 'prod-only'), allowed: { roles: ['requester'], environments: ['prod'] } })).status).toBe(201);
    const hijack = await call('mallory', 'POST', '/certificates', { commonName: 'hijack.example.com', targets: ['prod-web'] });
    expect(hijack.status).toBe(403);
    expect(hijack.body.error).toMatchObject({ field: 'targets', message: expect.stringMatching(/mallory may not deploy to target prod-web/) });
    expect((await call('mallory', 'POST', '/certificates', { commonName: 'ghost.example.com', targets: ['no-such-target'] })).status).toBe(400);
    const wrongEnvironment = await call('mallory', 'POST', '/certificates', { commonName: 'dev.example.com', environment: 'dev', targets: ['prod-only'] });
    expect(wrongEnvironment.status).toBe(403);
    expect(wrongEnvironment.body.error.message).toMatch(/takes certificates of prod only/);
    const own = await call('mallory', 'POST', '/certificates', { commonName: 'team.example.com', targets: ['team-web'] });
    expect(own.status).toBe(201);
    await eventually(async () => existsSync(join(home, 'targets', 'team-web', 'cert.pem')), 'the deployment to the target mallory owns');
    expect(existsSync(prodDir) ? readdirSync(prodDir) : []).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('target directories stay inside the allowed roots: no .., no other folder, no symbolic link out', async () => {
    for (const directory of [join(home, 'targets', '..', 'dynamodb'), '/etc/ssl/private', join(home, 'dynamodb'), 'relative/dir']) {
      const answer = await call('admin', 'POST', '/targets', { name: 'escape', type: 'filesystem', directory });
      expect(answer.status, directory).toBe(400);
      expect(answer.body.error.field).toBe('directory');
    }
    const outside = mkdtempSync(join(tmpdir(), 'certops-outside-'));
    mkdirSync(join(home, 'targets'), { recursive: true });
    symlinkSync(outside, join(home, 'targets', 'linked'));
    expect((await call('admin', 'POST', '/targets', { name: 'linked', type: 'filesystem', directory: join(home, 'targets', 'linked') })).status).toBe(201);
    const cert = await call('admin', 'POST', '/certificates', { commonName: 'linked.example.com' });
    const attach = await call('admin', 'POST', `/certificates/${cert.body.certificateId}/targets`, { targets: ['linked'] });
    expect(attach.status).toBe(409);
    expect(attach.body.error.message).toMatch(/outside the allowed roots/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('the embedded DynamoDB listens on no TCP port: its socket sits in a folder only its owner may enter', async () => {
    const port = Number(new URL(stack.url).port);
    expect(listeningTcpPorts(stack.child.pid!)).toEqual([port]);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const socket = join(home, 'dynamodb.sock');
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    // Another local user cannot even reach it (the check needs root to become someone else).
    if (process.getuid?.() === 0) {
      const probe = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => console.log('connected')).on('error', (e) => console.log(e.code))`;
      const other = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { encoding: 'utf8' });
      expect(other.stdout.trim()).toBe('EACCES');
    }
  });

  it('a requester scans only allowed ranges and ports, a bounded number of addresses, one scan at a time', async () => {
    const scan = (targets: string[], ports?: number[]) => call('mallory', 'POST', '/scans', { targets, ...(ports ? { ports } : {}) });
    const wide = await scan(['10.0.0.0/16']);
    expect(wide.status).toBe(403);
    expect(wide.body.error.field).toBe('targets');
    expect((await scan(['evil.example.org'])).status).toBe(403);
    const port = await scan(['127.0.0.1'], [22]);
    expect(port.status).toBe(403);
    expect(port.body.error.field).toBe('ports');
    const many = await fetch(`${stack.url}/scans`, { method: 'POST', headers: { authorization: `Bearer ${tokens.mallory}`, 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['127.0.0.0/24'] }) });
    expect(many.status).toBe(429);
    expect(Number(many.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await many.json()).error.field).toBe('targets');
    const first = await scan([`127.0.0.1:${silentPort}`]);
    expect(first.status).toBe(202);
    const second = await fetch(`${stack.url}/scans`, { method: 'POST', headers: { authorization: `Bearer ${tokens.mallory}`, 'content-type': 'application/json' }, body: JSON.stringify({ targets: ['localhost'] }) });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    // Admins are not limited by what requesters may scan.
    expect((await call('admin', 'POST', '/scans', { targets: ['127.0.0.1'], ports: [22] })).status).toBe(202);
  });

  it('an import is bounded: more certificates than one import takes is refused, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-bulk-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=bulk.example.com', '-days', '1'], { stdio: 'ignore' });
    const pem = readFileSync(join(dir, 'c.pem'), 'utf8');
    const started = Date.now();
    const answer = await call('mallory', 'POST', '/imports', { pem: pem.repeat(1001) });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('pem');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('links planted in a target folder lead nowhere: no CA key or master key is copied, no file outside is written', async () => {
    const dir = join(home, 'targets', 'planted');
    mkdirSync(join(dir, 'previous'), { recursive: true });
    writeFileSync(join(dir, 'cert.pem'), 'x');
    symlinkSync(join(home, 'master.key'), join(dir, 'chain.pem'));
    symlinkSync(join(home, 'admin.token'), join(dir, 'privkey.pem'));
    const outside = join(mkdtempSync(join(tmpdir(), 'certops-victim-')), 'victim');
    writeFileSync(outside, 'untouched');
    symlinkSync(outside, join(dir, 'previous', 'cert.pem'));
    expect((await call('admin', 'POST', '/targets', { name: 'planted', type: 'filesystem', directory: dir, allowed: { owners: ['mallory'] } })).status).toBe(201);
    const issued = await call('mallory', 'POST', '/certificates', { commonName: 'planted.example.com', targets: ['planted'] });
    expect(issued.status).toBe(201);
    await eventually(async () => (await audit('deployment.failed')).some((r) => r.detail.target === 'planted'), 'the deployment to be refused');
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    for (const file of readdirSync(join(dir, 'previous'))) expect(readFileSync(join(dir, 'previous', file), 'utf8')).not.toMatch(/wrappedKey|^[A-Za-z0-9+/]{43}=$/);
    // A folder others may write to is refused as well: they could swap its files between our checks.
    const shared = join(home, 'targets', 'shared');
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    expect((await call('admin', 'POST', '/targets', { name: 'shared', type: 'filesystem', directory: shared })).status).toBe(201);
    const attach = await call('admin', 'POST', `/certificates/${issued.body.certificateId}/targets`, { targets: ['shared'] });
    expect(attach.status).toBe(409);
    expect(attach.body.error.message).toMatch(/writable by no one else/);
    expect(readdirSync(shared)).toEqual([]);
  });

  it('a wildcard is judged by every name it covers: it cannot reach a prod name or a denied one through a weaker environment', async () => {
    const prodCovered = await call('mallory', 'POST', '/certificates', { commonName: '*.example.com', environment: 'lab' });
    expect(prodCovered.status).toBe(400);
    expect(prodCovered.body.error).toMatchObject({ field: 'environment', message: expect.stringMatching(/belongs to prod/) });
    const denied = await call('mallory', 'POST', '/certificates', { commonName: '*.example.com', subjectAlternativeNames: [], environment: 'lab', owner: 'x' });
    expect(denied.status).toBe(400);
    const deniedInLab = await call('mallory', 'POST', '/certificates', { commonName: '*.lab.example.com', subjectAlternativeNames: ['secret.example.com'], environment: 'lab' });
    expect(deniedInLab.status).toBe(403);
    expect(deniedInLab.body.reasons.join()).toMatch(/secret.example.com is a denied name/);
    const coversDenied = await call('mallory', 'POST', '/certificates', { commonName: 'x.lab.example.com', subjectAlternativeNames: ['*.example.com'], environment: 'lab' });
    expect([400, 403]).toContain(coversDenied.status);
  });

  it('a discovered certificate with mixed-case or partial-wildcard names is not adopted for renewal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-odd-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-subj', '/CN=ADMIN.payments.example.com', '-addext', 'subjectAltName=DNS:ADMIN.payments.example.com,DNS:ad*.payments.example.com', '-days', '30'], { stdio: 'ignore' });
    const imported = await call('mallory', 'POST', '/imports', { pem: readFileSync(join(dir, 'c.pem'), 'utf8') });
    const adopted = await call('admin', 'POST', `/certificates/${imported.body.imported[0].id}/adopt`, { issuer: 'local' });
    expect(adopted.status).toBe(403);
    expect(adopted.body.error.message).toMatch(/ad\*.payments.example.com" is not a DNS name|admin.payments.example.com is a denied name/);
  });

  it('a deployment rule acts for the requester: a target that would refuse her is skipped', async () => {
    const ruleDir = join(home, 'targets', 'rule-web');
    expect((await call('admin', 'POST', '/targets', { name: 'rule-web', type: 'filesystem', directory: ruleDir, allowed: { environments: ['prod'] } })).status).toBe(201);
    const issued = await call('mallory', 'POST', '/certificates', { commonName: 'evil.payments.example.com' });
    expect(issued.status).toBe(201);
    const byAdmin = await call('admin', 'POST', '/certificates', { commonName: 'ops.payments.example.com' });
    await eventually(async () => existsSync(join(ruleDir, 'cert.pem')), 'the rule to deploy the admin\'s certificate');
    const served = readFileSync(join(ruleDir, 'cert.pem'), 'utf8');
    expect(served).toBe((await call('admin', 'GET', `/certificates/${byAdmin.body.certificateId}`)).body.certificatePem);
  });

  it('importing a known certificate again does not relabel it', async () => {
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'labelled.example.com' });
    const pem = (await call('admin', 'GET', `/certificates/${issued.body.certificateId}`)).body.certificatePem;
    await call('mallory', 'POST', '/imports', { pem, environment: 'lab', owner: 'mallory' });
    const after = (await call('admin', 'GET', `/certificates/${issued.body.certificateId}`)).body;
    expect(after.environment).toBeUndefined();
    expect(after.owner).toBeUndefined();
  });

  it('limits hold under a burst: parallel scans and parallel tokens of one name get no more than one through', async () => {
    const scans = await Promise.all(Array.from({ length: 12 }, () => call('mallory', 'POST', '/scans', { targets: [`127.0.0.2:${silentPort}`] })));
    expect(scans.filter((r) => r.status === 202).length).toBeLessThanOrEqual(1);
    expect(scans.filter((r) => r.status !== 202).every((r) => r.status === 429)).toBe(true);
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => call('admin', 'POST', '/tokens', { name: 'twin', role: 'viewer', eventSources: Array.from({ length: 10 }, (_, j) => `com.example.twin${i}-${j}`) })));
    expect(tokens.filter((r) => r.status === 201)).toHaveLength(1);
    const sources = await Promise.all(Array.from({ length: 6 }, (_, i) => call('admin', 'POST', '/tokens', { name: `sharer-${i}`, role: 'requester', eventSources: ['com.example.shared'] })));
    expect(sources.filter((r) => r.status === 201)).toHaveLength(1);
  });

  it('refuses what once answered 500 to the attack run: keys missing from a nextToken, oversized certificates, prototype names as reasons', async () => {
    for (const [path, key] of [['/certificates', { gsi1pk: 'CERTS' }], ['/events', { pk: 'AUDIT' }], ['/certificates?owner=x', { gsi4pk: 'OWNER#x', pk: 'CERT#x', sk: 'CERT' }]] as const) {
      const sep = path.includes('?') ? '&' : '?';
      const answer = await call('admin', 'GET', `${path}${sep}nextToken=${Buffer.from(JSON.stringify(key)).toString('base64url')}`);
      expect(answer.status, path).toBe(400);
    }
    const dir = mkdtempSync(join(tmpdir(), 'certops-big-'));
    const names = Array.from({ length: 1200 }, (_, i) => `DNS:n${i}.example.com`).join(',');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=big.example.com', '-addext', `subjectAltName=${names}`, '-days', '1'], { stdio: 'ignore' });
    const big = await call('mallory', 'POST', '/imports', { pem: readFileSync(join(dir, 'c.pem'), 'utf8') });
    expect(big.status).toBe(200);
    expect(big.body.rejected[0].reason).toMatch(/over the 1000 certops keeps/);
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'reason.example.com' });
    const odd = await call('admin', 'POST', `/certificates/${issued.body.certificateId}/revoke`, { reason: 'constructor' });
    expect(odd.status).toBe(400);
    expect(odd.body.error.field).toBe('reason');
  });

  it('a reload command does not see the suite\'s credentials', async () => {
    const dump = join(home, 'reload-env');
    expect((await call('admin', 'POST', '/targets', { name: 'env-dump', type: 'filesystem', directory: join(home, 'targets', 'env-dump'), reloadCommand: `env > ${dump}` })).status).toBe(201);
    const issued = await call('admin', 'POST', '/certificates', { commonName: 'envdump.example.com', targets: ['env-dump'] });
    expect(issued.status).toBe(201);
    await eventually(async () => existsSync(dump) && readFileSync(dump, 'utf8').includes('PATH='), 'the reload command to run');
    expect(readFileSync(dump, 'utf8')).not.toMatch(/AWS_|CERTOPS_/);
  });

  it('refuses a state folder another user made', async () => {
    if (process.getuid?.() !== 0) return;
    const foreign = mkdtempSync(join(tmpdir(), 'certops-foreign-'));
    chownSync(foreign, 65534, 65534);
    await expect(startStack(foreign)).rejects.toThrow(/belongs to user 65534/);
  });
});

/** The TCP ports a process listens on, read from /proc (its socket inodes among the LISTEN sockets). */
function listeningTcpPorts(pid: number): number[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; } }).flatMap((l) => l.match(/^socket:\[(\d+)\]$/)?.[1] ?? []));
  const ports = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((line) => line.trim().split(/\s+/)))
    .filter((f) => f[3] === '0A' && inodes.has(f[9])).map((f) => parseInt(f[1].split(':')[1], 16));
  return [...new Set(ports)].sort((a, b) => a - b);
}