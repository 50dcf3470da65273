import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.ts';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { scanFixtures, startNginx, startNodeTlsServers, type Fixtures } from './support/tls-servers.ts';
import { certificateId, fingerprintSha256 } from '../shared/x509/certificate-record.ts';
import { expandTargets } from '../shared/scan-targets.ts';

describe('network discovery against real TLS servers', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-scan-'));
  let stack: RunningStack;
  let fixtures: Fixtures;
  let node: Awaited<ReturnType<typeof startNodeTlsServers>>;
  let nginx: Awaited<ReturnType<typeof startNginx>>;
  let env: Record<string, string>;
  let token: string;
  const api = async (path: string) => (await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const findingIds = (e: { findings: { id: string }[] }) => e.findings.map((f) => f.id).sort();

  beforeAll(async () => {
    fixtures = await scanFixtures();
    writeFileSync(join(home, 'test-root.pem'), fixtures.root.pem);
    writeFileSync(join(home, 'config.yaml'), 'inventory:\n  trustedRootsFile: test-root.pem\n  ownership:\n    - cidr: 127.0.0.0/8\n      environment: lab\n      owner: team-scan\n');
    [node, nginx, stack] = await Promise.all([startNodeTlsServers(fixtures), startNginx(fixtures), startStack(home, { CERTOPS_SCAN_TIMEOUT_MS: '2000', CERTOPS_SCAN_CHUNK_SIZE: '4' })]);
    env = { CERTOPS_HOME: home };
    token = readFileSync(stack.tokenFile, 'utf8').trim();
  }, 60_000);
  afterAll(async () => {
    await Promise.all([node?.close(), nginx?.close(), stack?.stop()]);
  });

  it('records what each endpoint serves, with the faults of how it is served, on Node and nginx alike', async () => {
    const targets = [
      ...Object.values(node.ports).map((p) => `localhost:${p}`),
      ...Object.values(nginx.ports).map((p) => `localhost:${p}`),
      `127.0.0.1:${node.ports.good}`,
      'localhost:1',
    ];
    const run = await cli(['scan', ...targets, '--endpoint', stack.url, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const scan = JSON.parse(run.stdout);
    // Split into chunks of 4 for the scan workers; the counts are over all of them (a certificate served in two chunks counts once).
    expect(scan).toMatchObject({ status: 'completed', total: targets.length, done: targets.length, chunks: Math.ceil(targets.length / 4), counts: { endpoints: targets.length, certificates: 5, newCertificates: 5, failures: 1 } });
    expect(new Set(scan.endpoints.map((e: any) => `${e.host}:${e.port}`)).size).toBe(targets.length);
    // The results come in pages, each token leading to the next, together every endpoint once.
    const pages = [];
    for (let next = ''; ;) {
      const page = await api(`/scans/${scan.scanId}?limit=5${next ? `&nextToken=${encodeURIComponent(next)}` : ''}`);
      pages.push(page.endpoints.length);
      if (!page.nextToken) break;
      next = page.nextToken;
    }
    expect(pages.reduce((a, b) => a + b, 0)).toBe(targets.length);
    expect(pages[0]).toBe(5);
    const foreign = await fetch(`${stack.url}/scans/${scan.scanId}?nextToken=${Buffer.from(JSON.stringify({ pk: 'SCAN#other', sk: 'EP#x' })).toString('base64url')}`, { headers: { authorization: `Bearer ${token}` } });
    expect(foreign.status).toBe(400);
    expect((await foreign.json()).error.field).toBe('nextToken');
    const at = (port: number, host = 'localhost') => scan.endpoints.find((e: any) => e.host === host && e.port === port);

    for (const [name, servers] of [['node', node.ports], ['nginx', nginx.ports]] as const) {
      expect(findingIds(at(servers.good)), `${name} good`).toEqual([]);
      expect(findingIds(at(servers.expired)), `${name} expired`).toEqual([]);
      // The scan report shows the certificate's own faults beside the endpoint's.
      expect(at(servers.expired).certificateFindings.map((f: any) => f.id), `${name} expired certificate`).toContain('expired');
      expect(at(servers.good).certificateFindings.map((f: any) => f.severity), `${name} good certificate`).not.toContain('critical');
      expect(findingIds(at(servers.selfSigned)), `${name} self-signed`).toEqual(['untrusted-root']);
      expect(findingIds(at(servers.wrongHost)), `${name} wrong host`).toEqual(['hostname-mismatch']);
      expect(findingIds(at(servers.incomplete)), `${name} incomplete chain`).toEqual(['incomplete-chain']);
      expect(at(servers.good).certificateId).toBe(certificateId(fixtures.good.der));
      expect(at(servers.good).chain).toHaveLength(2);
      expect(at(servers.incomplete).chain).toHaveLength(1);
    }
    expect(at(nginx.ports.legacy).legacyProtocols).toBe(true);
    expect(findingIds(at(nginx.ports.legacy))).toEqual(['legacy-tls']);
    expect(at(nginx.ports.good).legacyProtocols).toBe(false);
    expect(at(nginx.ports.good).protocol).toMatch(/^TLSv1\.[23]$/);
    expect(at(1).error).toMatch(/ECONNREFUSED|connect/);

    // The expired certificate's own fault is on the certificate; the endpoints are listed on it.
    const expired = await api(`/certificates/${certificateId(fixtures.expired.der)}`);
    expect(expired).toMatchObject({ status: 'discovered', source: 'scan' });
    expect(expired.findings.map((f: any) => f.id)).toContain('expired');
    expect(expired.endpoints.map((e: any) => e.port).sort()).toEqual([node.ports.expired, nginx.ports.expired].sort());
    const wrong = await api(`/certificates/${certificateId(fixtures.wrongHost.der)}`);
    expect(wrong.findings.map((f: any) => f.id)).toEqual(expect.arrayContaining([`hostname-mismatch@localhost:${node.ports.wrongHost}`]));
    // An address in a configured range gets that range's environment and owner.
    const good = await api(`/certificates/${certificateId(fixtures.good.der)}`);
    expect(good).toMatchObject({ environment: 'lab', owner: 'team-scan' });

    // The bus promises no order between events, so wait for all of them before comparing.
    const discovered = [fixtures.good, fixtures.expired, fixtures.selfSigned, fixtures.wrongHost, fixtures.incomplete].map((c) => certificateId(c.der)).sort();
    const events = await eventually(async () => {
      const lines = siem();
      const seen = new Set(lines.filter((l) => l.event_type === 'certificate.discovered').map((l) => l.certificateId));
      return lines.some((l) => l.event_type === 'scan.completed' && l.scanId === scan.scanId) && discovered.every((id) => seen.has(id)) && lines;
    }, 'scan.completed and every certificate.discovered');
    expect(events.filter((l) => l.event_type === 'certificate.discovered').map((l) => l.certificateId).sort()).toEqual(discovered);
    expect(events.find((l) => l.event_type === 'scan.completed')).toMatchObject({ endpoints: targets.length, certificates: 5, newCertificates: 5, failures: 1 });
  });

  it('emits certificate.changed when an endpoint starts serving another certificate', async () => {
    const port = node.ports.wrongHost;
    // Scan 1 above saw wrongHost there; now the same endpoint serves the good certificate's twin (a new key, new cert).
    const { makeCert } = await import('./support/pki.ts');
    const replacement = await makeCert({ subject: 'CN=localhost', sans: ['localhost'], issuer: fixtures.intermediate });
    const { createServer } = await import('node:tls');
    const server = createServer({ cert: replacement.pem + fixtures.intermediate.pem, key: await replacement.keyPem() }, (s) => s.end());
    await node.close();
    await new Promise<void>((r) => server.listen({ port, host: '::', ipv6Only: false }, () => r()));
    try {
      const run = await cli(['scan', `localhost:${port}`, '--no-legacy-check', '--endpoint', stack.url, '--json'], env);
      const scan = JSON.parse(run.stdout);
      expect(scan.counts).toMatchObject({ endpoints: 1, newCertificates: 1 });
      const changed = await eventually(async () => siem().find((l) => l.event_type === 'certificate.changed' && l.port === port), 'certificate.changed');
      expect(changed).toMatchObject({ host: 'localhost', certificateId: certificateId(replacement.der), previousCertificateId: certificateId(fixtures.wrongHost.der) });
      // Scanning again changes nothing: the endpoint serves what it served.
      await cli(['scan', `localhost:${port}`, '--no-legacy-check', '--endpoint', stack.url, '--json'], env);
      expect(siem().filter((l) => l.event_type === 'certificate.changed' && l.port === port)).toHaveLength(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('records a chain in the order it was served and calls a complete one sent out of order complete (RFC 5246 7.4.2, RFC 8446 4.4.2)', async () => {
    const { makeCert } = await import('./support/pki.ts');
    const { createServer } = await import('node:tls');
    const upper = await makeCert({ subject: 'CN=Order Test Intermediate 1', ca: true, pathLength: 1, issuer: fixtures.root });
    const lower = await makeCert({ subject: 'CN=Order Test Intermediate 2', ca: true, pathLength: 0, issuer: upper });
    const leaf = await makeCert({ subject: 'CN=localhost', sans: ['localhost'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: lower });
    const servers = await Promise.all([[upper, lower], [lower, upper]].map(async (order) => {
      const server = createServer({ cert: [leaf, ...order].map((c) => c.pem).join(''), key: await leaf.keyPem() }, (s) => s.end());
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1' }, () => r()));
      return server;
    }));
    try {
      const [wrong, right] = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
      const run = await cli(['scan', `localhost:${wrong}`, `localhost:${right}`, '--no-legacy-check', '--endpoint', stack.url, '--json'], env);
      const scan = JSON.parse(run.stdout);
      const at = (port: number) => scan.endpoints.find((e: any) => e.port === port);
      const fingerprints = (certs: { der: Buffer }[]) => certs.map((c) => fingerprintSha256(c.der));
      expect(at(wrong).chain).toEqual(fingerprints([leaf, upper, lower]));
      expect(at(right).chain).toEqual(fingerprints([leaf, lower, upper]));
      expect(at(wrong).findings.map((f: any) => [f.id, f.severity])).toEqual([['chain-out-of-order', 'low']]);
      expect(at(wrong).findings[0].message).toMatch(/send CN=Order Test Intermediate 2 then CN=Order Test Intermediate 1$/);
      expect(at(right).findings).toEqual([]);
      // The certificate's endpoint list carries the same warning.
      const stored = await api(`/certificates/${certificateId(leaf.der)}`);
      expect(stored.findings.map((f: any) => f.id)).toContain(`chain-out-of-order@localhost:${wrong}`);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('does not record a served certificate that repeats an extension: the endpoint says why (RFC 5280 4.2)', async () => {
    const { makeCert } = await import('./support/pki.ts');
    const { createServer } = await import('node:tls');
    const leaf = await makeCert({ subject: 'CN=localhost', sans: ['localhost'], repeatedSans: ['admin.example.net'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: fixtures.intermediate });
    const server = createServer({ cert: leaf.pem + fixtures.intermediate.pem, key: await leaf.keyPem() }, (s) => s.end());
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1' }, () => r()));
    try {
      const port = (server.address() as import('node:net').AddressInfo).port;
      const scan = JSON.parse((await cli(['scan', `localhost:${port}`, '--no-legacy-check', '--endpoint', stack.url, '--json'], env)).stdout);
      expect(scan.counts).toMatchObject({ endpoints: 1, newCertificates: 0, failures: 1 });
      expect(scan.endpoints[0].error).toMatch(/subjectAltName extension more than once \(RFC 5280 4.2/);
      expect((await fetch(`${stack.url}/certificates/${certificateId(leaf.der)}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses bad targets naming the field, and ranges over a /16', async () => {
    const post = (body: unknown) => fetch(`${stack.url}/scans`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const [body, field, message] of [
      [{ targets: [] }, 'targets', /non-empty list/],
      [{ targets: ['10.0.0.0/8'] }, 'targets', /larger than a \/16/],
      [{ targets: ['bad host!'] }, 'targets', /not a DNS name/],
      [{ targets: ['a.example.com:99999'] }, 'targets', /not a port/],
      [{ targets: ['a.example.com'], ports: [0] }, 'ports', /not a port/],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
    }
    const bad = await cli(['scan', '10.0.0.0/8', '--endpoint', stack.url], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400 invalid_input: .*larger than a \/16.*\(field: targets\)/);
  });

  it('ends a scan run by a person with a summary: a row per certificate, failures counted by cause', async () => {
    const good = nginx.ports.good;
    const run = await cli(['scan', `localhost:${good}`, `127.0.0.1:${good}`, `localhost:${nginx.ports.expired}`, 'localhost:1', 'localhost:2', '--no-legacy-check', '--endpoint', stack.url], env);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^scan \S+ completed: 5 endpoints, 2 certificates \(\d new\), 2 failed$/);
    expect(lines[1]).toMatch(/^ {2}certificate +subject +served at +findings$/);
    const row = lines.find((l) => l.includes(certificateId(fixtures.good.der)));
    expect(row).toMatch(new RegExp(`(localhost:${good}, 127\\.0\\.0\\.1:${good}|127\\.0\\.0\\.1:${good}, localhost:${good}) +`));
    expect(lines.find((l) => l.includes(certificateId(fixtures.expired.der)))).toMatch(/\d+ critical/);
    expect(lines.slice(-2)).toEqual(['  no certificate from:', '         2  connection refused']);
    expect(lines).toHaveLength(6);
  });
});

describe('scan targets', () => {
  it('expands hosts, ports, addresses and ranges without duplicates', () => {
    expect(expandTargets(['web.example.com', 'web.example.com:8443', '10.0.0.0/30', '[::1]:443', '10.0.0.1'], [443, 8443])).toEqual([
      { host: 'web.example.com', port: 443, serverName: 'web.example.com' },
      { host: 'web.example.com', port: 8443, serverName: 'web.example.com' },
      { host: '10.0.0.1', port: 443 },
      { host: '10.0.0.1', port: 8443 },
      { host: '10.0.0.2', port: 443 },
      { host: '10.0.0.2', port: 8443 },
      { host: '::1', port: 443 },
    ]);
    expect(expandTargets(['192.168.0.0/16'])).toHaveLength(65534);
  });
});
