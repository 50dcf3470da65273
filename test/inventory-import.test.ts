import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.ts';
import { apiCall } from './support/api.ts';
import { corpusCertificates } from './support/corpus.ts';
import { makeCert, makeChain } from './support/pki.ts';
import { filesUnder } from './support/files.ts';
import { ROOT, eventually, openssl, startStack, type RunningStack } from './support/processes.ts';
import { toPem } from '../shared/x509/pem.ts';

describe('importing certificates', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-import-'));
  let stack: RunningStack;
  let env: Record<string, string>;
  beforeAll(async () => {
    stack = await startStack(home);
    env = { CERTOPS_HOME: home };
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('imports PEM and DER files from folders, skips private keys, reports malformed certificates, and is idempotent', async () => {
    const src = mkdtempSync(join(tmpdir(), 'certops-import-src-'));
    const { leaf, intermediate } = await makeChain(['imported.example.com']);
    const keyPem = await leaf.keyPem();
    mkdirSync(join(src, 'nested', 'deeper'), { recursive: true });
    writeFileSync(join(src, 'bundle.pem'), `subject=imported\n${leaf.pem}${keyPem}${intermediate.pem}`);
    writeFileSync(join(src, 'nested', 'google.der'), corpusCertificates('gct-realworld', 'google_cert.der')[0]);
    writeFileSync(join(src, 'nested', 'deeper', 'broken.pem'), toPem(corpusCertificates('ctgo-invalid', 'xf-pubkey-ecdsa-secp192r1.pem')[0]));
    writeFileSync(join(src, 'notes.txt'), 'nothing to see');

    const first = await cli(['import', src, '--environment', 'legacy', '--owner', 'team-imports', '--endpoint', stack.url, '--json'], env);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ imported: 3, new: 3, ignoredPrivateKeys: 1 });
    expect(summary.rejected).toEqual([{ file: join(src, 'nested', 'deeper', 'broken.pem'), reason: expect.stringMatching(/insecure curve \(secp192r1\)/) }]);

    const again = await cli(['import', src, '--endpoint', stack.url, '--json'], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 3, new: 0 });

    const list = await cli(['list', '--owner', 'team-imports', '--endpoint', stack.url, '--json'], env);
    const items = JSON.parse(list.stdout).items as { commonName: string; status: string; source: string; environment: string; findings: { id: string }[] }[];
    expect(items.map((i) => i.commonName).sort()).toEqual(['*.google.com', 'Test Intermediate', 'imported.example.com']);
    expect(items.every((i) => i.status === 'discovered' && i.source === 'import' && i.environment === 'legacy')).toBe(true);
    expect(items.find((i) => i.commonName === '*.google.com')!.findings.map((f) => f.id)).toEqual(expect.arrayContaining(['expired', 'wildcard']));
    // Sorted on the server: by expiry, soonest first, and the other way.
    const byExpiry = async (order: string) => (JSON.parse((await cli(['list', '--owner', 'team-imports', '--sort', order, '--endpoint', stack.url, '--json'], env)).stdout).items as { notAfter: string }[]).map((i) => i.notAfter);
    const soonest = await byExpiry('expiry');
    expect(soonest).toHaveLength(3);
    expect(soonest).toEqual([...soonest].sort());
    expect(await byExpiry('-expiry')).toEqual([...soonest].reverse());

    // One certificate.discovered per new certificate, none for the second import; findings raised for the expired one.
    const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const discovered = await eventually(async () => {
      const d = siem().filter((l) => l.event_type === 'certificate.discovered');
      return d.length >= 3 && d;
    }, 'certificate.discovered events');
    expect(discovered).toHaveLength(3);
    expect(siem().some((l) => l.event_type === 'finding.raised' && l.findingId === 'expired')).toBe(true);

    // The private key went nowhere: not in the table's files, the SIEM export or the key vault.
    const keyBody = keyPem.split('\n')[1].slice(0, 40);
    for (const file of filesUnder(home)) expect(readFileSync(file).includes(keyBody), file).toBe(false);
  });

  it('reports the inventory as CSV and JSON and the expiry timeline', async () => {
    const csv = await cli(['report', 'inventory', '--format', 'csv', '--endpoint', stack.url], env);
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.stdout.trim().split('\r\n');
    expect(header.split(',')).toEqual(expect.arrayContaining(['id', 'commonName', 'notAfter', 'findings']));
    expect(rows).toHaveLength(3);
    const json = JSON.parse((await cli(['report', 'inventory', '--json', '--endpoint', stack.url], env)).stdout);
    expect(json).toMatchObject({ total: 3, byStatus: { discovered: 3 }, byEnvironment: { legacy: 3 } });
    expect(json.openFindingsBySeverity.critical).toBeGreaterThanOrEqual(1);
    const expiry = JSON.parse((await cli(['report', 'expiry', '--format', 'json', '--endpoint', stack.url], env)).stdout);
    expect(expiry.expired.count).toBe(1);
    expect(expiry.weeks).toHaveLength(13);
    const expiryText = (await cli(['report', 'expiry', '--endpoint', stack.url], env)).stdout;
    expect(expiryText).toMatch(/^expired: 1\nweek  1/);
    expect(expiryText).not.toMatch(/ $/m);
    expect((await cli(['report', 'expiry', '--format', 'xml', '--endpoint', stack.url], env)).code).toBe(2);
    // At 47-day lifetimes, what certops only found (imports) would need a person: said, with why, in text, JSON and CSV.
    const readiness = JSON.parse((await cli(['report', 'readiness', '--json', '--endpoint', stack.url], env)).stdout);
    expect(readiness).toMatchObject({ lifetimeDays: 47, inUse: expect.any(Number), notReady: expect.any(Number) });
    expect(readiness.byReason['not-managed'].count).toBeGreaterThanOrEqual(2);
    expect(readiness.certificates.filter((c: { owner: string }) => c.owner === 'team-imports').every((c: { reasons: string[] }) => c.reasons.includes('not-managed'))).toBe(true);
    const readinessText = (await cli(['report', 'readiness', '--endpoint', stack.url], env)).stdout;
    expect(readinessText).toMatch(/^at 47-day lifetimes, \d+ of \d+ end-entity certificates in use \(CA certificates aside\) renew with no one's hand; \d+ would need a person:\n/);
    expect(readinessText).toMatch(/not-managed: certops does not renew it/);
    expect(readinessText).toMatch(/^by issuer \(ready \/ not\):\n {2}\d+ \/ \d+ {2}\S/m);
    expect((await cli(['report', 'readiness', '--format', 'csv', '--endpoint', stack.url], env)).stdout.split('\r\n')[0]).toBe('id,commonName,owner,environment,issuer,issuerBackend,notAfter,reasons');
  });

  const call = (method: string, path: string, body?: unknown) => apiCall(stack.url, readFileSync(stack.tokenFile, 'utf8').trim(), method, path, body);

  it('never deploys a chain that does not validate, and renews a discovered certificate once adopted', async () => {
    const dir = join(home, 'targets', 'refused');
    expect((await call('POST', '/targets', { name: 'legacy-web', type: 'filesystem', directory: dir })).status).toBe(201);
    const imported = (await call('GET', '/certificates?domain=imported.example.com')).body.items[0];
    const attach = await call('POST', `/certificates/${imported.id}/targets`, { targets: ['legacy-web'] });
    expect(attach.status).toBe(409);
    expect(attach.body.error.message).toMatch(/the chain does not validate, so nothing was deployed: incomplete chain/);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    const renewBefore = await call('POST', `/certificates/${imported.id}/renew`);
    expect(renewBefore.status).toBe(409);
    expect(renewBefore.body.error.message).toMatch(/certops adopt/);
    const adopted = await cli(['adopt', imported.id, '--issuer', 'local', '--target', 'legacy-web', '--endpoint', stack.url, '--json'], env);
    expect(JSON.parse(adopted.stdout)).toMatchObject({ status: 'active', issuer: 'local', targets: ['legacy-web'] });
    const started = await call('POST', `/certificates/${imported.id}/renew`);
    expect(started.status).toBe(202);
    const siem = () => readFileSync(join(home, 'siem', 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const done = await eventually(async () => siem().find((l) => l.event_type === 'renewal.succeeded' && l.certificateId === imported.id), 'the adopted certificate renewed', 30_000);
    // The successor comes from the built-in CA, so its chain validates and it is deployed.
    expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe((await call('GET', `/certificates/${done.newCertificateId}`)).body.certificatePem);
    expect(siem().some((l) => l.event_type === 'deployment.failed' && l.certificateId === imported.id && /nothing was deployed/.test(l.reason))).toBe(true);
  });

  it('adopts a certificate that names its host in the CN alone (no subjectAltName), and refuses one that names no host with a 4xx', async () => {
    const src = join(home, 'cn-only');
    mkdirSync(src, { recursive: true });
    const selfSigned = (subj: string) => openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', subj, '-days', '30']);
    writeFileSync(join(src, 'legacy.pem'), selfSigned('/CN=legacy.example.com'));
    writeFileSync(join(src, 'nameless.pem'), selfSigned('/O=No Host Here'));
    expect((await cli(['import', src, '--environment', 'lab', '--endpoint', stack.url], env)).code).toBe(0);
    const idOf = async (domain: string) => JSON.parse((await cli(['list', '--environment', 'lab', '--endpoint', stack.url, '--json'], env)).stdout).items.find((c: { subject: string }) => c.subject.includes(domain)).id;
    const legacy = await idOf('legacy.example.com');
    const adopted = await cli(['adopt', legacy, '--issuer', 'local', '--endpoint', stack.url], env);
    expect(adopted.code).toBe(0);
    // Adopting renews nothing now, and says so (it once said "renewed ... deployed").
    expect(adopted.stdout).toBe(`adopted ${legacy}: certops renews it through local from ${(await call('GET', `/certificates/${legacy}`)).body.renewalDueAt}\n  nothing was renewed or deployed yet: certops renew ${legacy} --wait does it now\n`);
    expect((await call('GET', `/certificates/${legacy}`)).body).toMatchObject({ status: 'active', issuerBackend: 'local' });
    const nameless = await cli(['adopt', await idOf('No Host Here'), '--issuer', 'local', '--endpoint', stack.url], env);
    expect(nameless.code).not.toBe(0);
    expect(nameless.stderr).toMatch(/409 .*names no host/);
  });

  it('refuses a certificate that repeats an extension alone and imports the rest of the batch (RFC 5280 4.2; handed case x509/08)', async () => {
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const chain = readFileSync(join(ROOT, 'test/fixtures/x509-cases/08-duplicate-san/chain.pem'), 'utf8');
    const res = await fetch(`${stack.url}/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ pem: chain, owner: 'team-dup' }) });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.rejected).toEqual([{ block: 1, reason: 'pem block 1: the certificate carries the subjectAltName extension more than once (RFC 5280 4.2: MUST NOT)' }]);
    expect(body.imported.map((i: { subject: string }) => i.subject)).toEqual(['CN=Example Test Intermediate, O=Example']);
    const names = JSON.parse((await cli(['list', '--owner', 'team-dup', '--endpoint', stack.url, '--json'], env)).stdout).items.map((i: { commonName: string }) => i.commonName);
    expect(names).toEqual(['Example Test Intermediate']);
  });

  it('refuses each oversize or malformed certificate alone with its reason and imports the good ones around it, never a 5xx (RFC 5280 4.1.2.2, Appendix A; RFC 1035 2.3.4)', async () => {
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const ca = await makeCert({ subject: 'CN=Oversize Test CA', ca: true });
    const longIssuer = await makeCert({ subject: `CN=${'I'.repeat(3000)}`, ca: true });
    const leaf = (subject: string, sans: string[], more: { serialNumber?: string; issuer?: typeof ca } = {}) => makeCert({ subject, sans, issuer: ca, ...more });
    const blocks = [
      await leaf('CN=before.oversize.example', ['before.oversize.example']),
      await leaf('CN=serial.oversize.example', ['serial.oversize.example'], { serialNumber: `01${'ab'.repeat(1499)}` }),
      await leaf('CN=san.oversize.example', [`${'a'.repeat(3000)}.oversize.example`]),
      await leaf(`CN=${'c'.repeat(3000)}`, ['cn.oversize.example']),
      await leaf('CN=nul.oversize.example', ['nul.oversize.example\u0000.evil.example.org']),
      await leaf('CN=issuer.oversize.example', ['issuer.oversize.example'], { issuer: longIssuer }),
      await leaf('CN=after.oversize.example', ['after.oversize.example']),
    ];
    const res = await fetch(`${stack.url}/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ pem: blocks.map((b) => b.pem).join(''), owner: 'team-oversize' }) });
    expect(res.status).toBe(200);
    const body = await res.json();
    const refusal = (block: number, what: string) => ({ block, reason: `pem block ${block}: the certificate carries ${what}; certops imports only what a conforming CA could issue` });
    expect(body.rejected).toEqual([
      refusal(2, 'a serialNumber of 1500 octets, over the 20 RFC 5280 4.1.2.2 allows'),
      refusal(3, 'a dNSName of 3017 characters, over the 253 RFC 1035 2.3.4 allows'),
      refusal(4, 'a CN of 3000 characters in its subject, over ub-common-name (64, RFC 5280 Appendix A)'),
      refusal(5, 'a dNSName holding a control character (0x00)'),
      refusal(6, 'a CN of 3000 characters in its issuer, over ub-common-name (64, RFC 5280 Appendix A)'),
    ]);
    expect(body.imported.map((i: { subject: string }) => i.subject)).toEqual(['CN=before.oversize.example', 'CN=after.oversize.example']);
    const listed = JSON.parse((await cli(['list', '--owner', 'team-oversize', '--endpoint', stack.url, '--json'], env)).stdout).items.map((i: { commonName: string }) => i.commonName);
    expect(listed.sort()).toEqual(['after.oversize.example', 'before.oversize.example']);
  });

  it('refuses an import with nothing usable, naming the field', async () => {
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const post = (body: unknown) => fetch(`${stack.url}/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const missing = await post({});
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.field).toBe('pem');
    const none = await (await post({ pem: 'hello' })).json();
    expect(none).toEqual({ imported: [], rejected: [{ block: 0, reason: 'pem holds no CERTIFICATE block' }], ignoredPrivateKeys: 0 });
  });
});
