import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rfc2136TxtRecords } from '../../adapters/dns/rfc2136.ts';
import { parseSuiteConfig } from '../../adapters/suite-config.ts';
import { ValidationError } from '../../shared/errors.ts';
import { startBind9, type Bind9 } from '../support/bind9.ts';
import { cli } from '../support/cli.ts';
import { pebbleIssuerYaml, preparePebble, type Pebble } from '../support/pebble.ts';
import { openssl, startStack, type RunningStack } from '../support/processes.ts';

/**
 * dns-01 (RFC 8555 8.4) through RFC 2136 dynamic updates signed with TSIG (RFC 8945): BIND 9 is
 * the zone's primary, and Pebble resolves through it.
 */
describe('the ACME issuer with dns-01 through RFC 2136 (BIND 9, Pebble)', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-acme-dns-'));
  let bind: Bind9;
  let stack: RunningStack;
  let pebble: Pebble;
  const env = { CERTOPS_HOME: home };
  const txt = async (name: string) => {
    const resolver = new Resolver();
    resolver.setServers([bind.address]);
    return (await resolver.resolveTxt(name).catch(() => [])).map((chunks) => chunks.join(''));
  };

  beforeAll(async () => {
    bind = await startBind9('example.test');
    const setup = await preparePebble(home);
    writeFileSync(join(home, 'config.yaml'), `issuers:\n${pebbleIssuerYaml(setup, 'pebble', [
      'challenge: dns-01',
      `dns: { rfc2136: { server: '${bind.address}', zone: example.test, keyName: ${bind.key.name}, keyAlgorithm: hmac-sha256, keySecret: 'env:CERTOPS_TEST_TSIG' } }`,
    ])}`);
    stack = await startStack(home, { CERTOPS_TEST_TSIG: bind.key.secret });
    // Pebble validates nothing over HTTP here: port 9 of loopback has no server.
    pebble = await setup.start(9, {}, undefined, bind.address);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await pebble?.close();
    await bind?.close();
  });

  it('proves a name and its wildcard with TXT records it writes by dynamic update, and removes them once the order is ready', async () => {
    const run = await cli(['request', 'dns1.example.test', '*.dns1.example.test', '--issuer', 'pebble', '--endpoint', stack.url, '--json'], env);
    expect(run.stderr).toBe('');
    const answer = JSON.parse(run.stdout);
    expect(answer.status).toBe('issued');
    const shown = JSON.parse((await cli(['show', answer.certificateId, '--endpoint', stack.url, '--json'], env)).stdout);
    expect(shown.subjectAlternativeNames.sort()).toEqual(['*.dns1.example.test', 'dns1.example.test']);
    const dir = mkdtempSync(join(home, 'verify-'));
    writeFileSync(join(dir, 'leaf.pem'), shown.certificatePem);
    writeFileSync(join(dir, 'chain.pem'), shown.chainPem);
    writeFileSync(join(dir, 'root.pem'), await pebble.issuingRootsPem());
    expect(openssl(['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')])).toMatch(/leaf\.pem: OK/);
    // BIND took signed updates, adding then removing the records.
    expect(bind.output()).toMatch(/adding an RR at '_acme-challenge\.dns1\.example\.test' TXT/);
    expect(bind.output()).toMatch(/deleting an RR at _acme-challenge\.dns1\.example\.test TXT/);
    expect(await txt('_acme-challenge.dns1.example.test')).toEqual([]);
  });

  it('reports a server that refuses the update with its RCODE (a TSIG key it does not know)', async () => {
    const wrong = new Rfc2136TxtRecords({ host: '127.0.0.1', port: bind.port }, 'example.test', async () => ({ ...bind.key, secret: Buffer.alloc(32, 7).toString('base64') }), () => new Date());
    await expect(wrong.put('_acme-challenge.x.example.test', 'v')).rejects.toThrow(/refused the update of zone example\.test: NOTAUTH/);
    const right = new Rfc2136TxtRecords({ host: '127.0.0.1', port: bind.port }, 'example.test', async () => bind.key, () => new Date());
    await right.put('_acme-challenge.y.example.test', 'one');
    await right.put('_acme-challenge.y.example.test', 'two');
    expect((await txt('_acme-challenge.y.example.test')).sort()).toEqual(['one', 'two']);
    // One value out at a time (another order's stays until that order is done).
    await right.remove('_acme-challenge.y.example.test', 'one');
    expect(await txt('_acme-challenge.y.example.test')).toEqual(['two']);
    await right.remove('_acme-challenge.y.example.test', 'two');
    expect(await txt('_acme-challenge.y.example.test')).toEqual([]);
    // A zone the server is not primary for.
    const elsewhere = new Rfc2136TxtRecords({ host: '127.0.0.1', port: bind.port }, 'other.test', async () => bind.key, () => new Date());
    await expect(elsewhere.put('_acme-challenge.other.test', 'v')).rejects.toThrow(/NOTAUTH|NOTZONE|REFUSED/);
  });

  it('names the field of a dns setting it refuses, and never takes the TSIG secret itself', () => {
    const parse = (dns: unknown) => parseSuiteConfig({ issuers: { ca: { type: 'acme', directoryUrl: 'https://ca.example/dir', challenge: 'dns-01', dns } } }, () => 'configuration', '/', '/tmp/siem');
    const field = (dns: unknown) => {
      try {
        parse(dns);
      } catch (err) {
        return (err as ValidationError).field;
      }
      return undefined;
    };
    expect(field(undefined)).toBe('issuers.ca.dns.rfc2136');
    expect(field({ rfc2136: { server: 'ns1', zone: 'example.test', keyName: 'k', keySecret: 'env:X' } })).toBe('issuers.ca.dns.rfc2136.server');
    expect(field({ rfc2136: { server: 'ns1:53', zone: 'example.test', keyName: 'k', keySecret: 'c2VjcmV0' } })).toBe('issuers.ca.dns.rfc2136.keySecret');
    expect(field({ rfc2136: { server: 'ns1:53', zone: 'example.test', keyName: 'k', keyAlgorithm: 'hmac-md5', keySecret: 'env:X' } })).toBe('issuers.ca.dns.rfc2136.keyAlgorithm');
    expect(field({ route53: { hostedZoneId: 'example.com' } })).toBe('issuers.ca.dns.route53.hostedZoneId');
    expect(field({ route53: { hostedZoneId: 'Z0123', region: 'us-east-1' } })).toBe('issuers.ca.dns.route53.hostedZoneId');
    expect(parse({ route53: { hostedZoneId: 'Z0123456789ABC' } }).issuers.ca).toMatchObject({ challenge: 'dns-01', dns: { route53: { hostedZoneId: 'Z0123456789ABC' } } });
    expect(parse({ rfc2136: { server: '[::1]:5353', zone: 'example.test', keyName: 'k', keySecret: 'env:X' } }).issuers.ca).toMatchObject({ challenge: 'dns-01', dns: { rfc2136: { host: '::1', port: 5353, keyAlgorithm: 'hmac-sha256' } } });
  });
});
