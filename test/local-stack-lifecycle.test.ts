import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually, openssl, startStack } from './support/processes.ts';
import { cli } from './support/cli.ts';

describe('local stack lifecycle, tokens and roles', () => {
  it('creates its state on first start, stops cleanly on Ctrl-C, and reuses the state on the next start', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-life-'));
    const first = await startStack(home);
    expect(first.firstStart).toBe(true);
    expect(statSync(first.tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'master.key')).mode & 0o777).toBe(0o600);
    const token = readFileSync(first.tokenFile, 'utf8').trim();
    const root = readFileSync(join(home, 'ca', 'root.pem'), 'utf8');
    expect(openssl(['x509', '-noout', '-text'], root)).toMatch(/CA:TRUE/);
    expect(openssl(['x509', '-noout', '-text'], root)).toMatch(/ASN1 OID: prime256v1/);
    const env = { CERTOPS_HOME: home };
    const issued = await cli(['request', 'life.example.com', '--endpoint', first.url, '--json'], env);
    expect(issued.code).toBe(0);
    const { certificateId } = JSON.parse(issued.stdout);
    expect(await first.stop()).toBe(0);

    const second = await startStack(home);
    try {
      expect(second.firstStart).toBe(false);
      expect(readFileSync(second.tokenFile, 'utf8').trim()).toBe(token);
      expect(readFileSync(join(home, 'ca', 'root.pem'), 'utf8')).toBe(root);
      const shown = await cli(['show', certificateId, '--endpoint', second.url, '--json'], env);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: certificateId, commonName: 'life.example.com', status: 'active' });
      const human = await cli(['show', certificateId, '--endpoint', second.url], env);
      expect(human.stdout).toContain('life.example.com');
      expect(human.stdout).not.toContain(token);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('refuses to start on a configuration mistake with one line naming the file, line and field, and exit 2', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-badconfig-'));
    writeFileSync(join(home, 'config.yaml'), 'policy:\n  rules:\n    - allowedDomains: [example.com]\n      allowIpAddresses: sometimes\n');
    const started = await cli(['serve'], { CERTOPS_HOME: home, PORT: '0' });
    expect(started.code).toBe(2);
    expect(started.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^certops: .*config\.yaml:4: policy\.rules\.0\.allowIpAddresses must be true, false or private$/)]);
  });

  it('mints tokens for roles, and enforces them with 401, 403 and 4xx errors that name the field', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-roles-'));
    const stack = await startStack(home);
    try {
      const env = { CERTOPS_HOME: home };
      const minted = await cli(['token', 'create', '--role', 'viewer', '--name', 'dashboards', '--endpoint', stack.url, '--json'], env);
      expect(minted.code).toBe(0);
      const viewer = JSON.parse(minted.stdout);
      expect(viewer).toMatchObject({ role: 'viewer', name: 'dashboards' });
      const asViewer = { CERTOPS_TOKEN: viewer.token, CERTOPS_HOME: home };
      expect((await cli(['list', '--endpoint', stack.url], asViewer)).code).toBe(0);
      const refused = await cli(['request', 'x.example.com', '--endpoint', stack.url], asViewer);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/403 forbidden/);
      expect((await cli(['token', 'create', '--role', 'admin', '--name', 'escalate', '--endpoint', stack.url], asViewer)).stderr).toMatch(/403/);
      const bad = await cli(['list', '--endpoint', stack.url], { CERTOPS_TOKEN: 'cop_forged', CERTOPS_HOME: home });
      expect(bad.stderr).toMatch(/401 unauthorized/);

      const admin = readFileSync(stack.tokenFile, 'utf8').trim();
      const post = (body: string) => fetch(`${stack.url}/certificates`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body });
      const cases: [string, string][] = [
        ['{"commonName": 42}', 'commonName'],
        ['{}', 'commonName'],
        ['{"commonName": "a.example.com", "keyAlgorithm": "DSA_1024"}', 'keyAlgorithm'],
        ['{"commonName": "a.example.com", "validityDays": 0}', 'validityDays'],
        ['{"commonName": "bad name!.example.com"}', 'commonName'],
        ['{"commonName": "a.example.com", "csr": "-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE REQUEST-----"}', 'csr'],
        ['{not json', 'body'],
        ['[1]', 'body'],
      ];
      for (const [body, field] of cases) {
        const res = await post(body);
        expect(res.status, body).toBe(400);
        expect((await res.json()).error, body).toMatchObject({ code: 'invalid_input', field });
      }
      const missing = await fetch(`${stack.url}/certificates/nope`, { headers: { authorization: `Bearer ${admin}` } });
      expect(missing.status).toBe(404);
      // The audit trail: intact, and exportable as evidence.
      expect((await cli(['request', 'audit.example.com', '--endpoint', stack.url], env)).code).toBe(0);
      await eventually(async () => (await cli(['audit', 'export', '--endpoint', stack.url], env)).stdout.includes('certificate.issued'), 'the audit trail to record the issuance');
      const verified = await cli(['audit', 'verify', '--endpoint', stack.url, '--json'], env);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true });
      const exported = (await cli(['audit', 'export', '--endpoint', stack.url], env)).stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(exported.map((r) => r.seq)).toEqual(exported.map((_, i) => i + 1));
      expect(exported.every((r) => /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
      expect((await cli(['siem', 'dead-letters', '--endpoint', stack.url], env)).stdout).toMatch(/no dead letters/);
      expect(JSON.parse((await cli(['siem', 'replay', '--endpoint', stack.url, '--json'], env)).stdout)).toMatchObject({ requeued: 0 });
      const cliUsage = await cli(['request'], env);
      expect(cliUsage.code).toBe(2);
      expect(cliUsage.stderr).toMatch(/missing required argument 'names'.*certops request --help/);
    } finally {
      await stack.stop();
    }
  });
});
