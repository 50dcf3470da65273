import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCert } from './pki.ts';
import { freePort } from './ports.ts';
import { startChallengeTestDns } from './challtestsrv.ts';

export interface PebbleSetup {
  /** The ACME directory URL (https, served with `tlsRootPem`'s certificate). */
  directoryUrl: string;
  /** The root of Pebble's own TLS certificate: what an ACME client must trust to reach it. */
  tlsRootPem: string;
  /** Its management API (https, the same TLS root): roots, certificate status by serial. */
  managementUrl: string;
  /** The port of 127.0.0.1 where it validates tls-alpn-01 challenges (RFC 8737). */
  tlsAlpnPort: number;
  /**
   * Starts it, validating http-01 challenges on `httpPort` of 127.0.0.1; with `eabKeys` (key id →
   * base64url HMAC key) it requires External Account Binding (RFC 8555 7.3.4). With `dnsServer`
   * (host:port) it resolves names and dns-01 records there instead of its own DNS stand-in.
   */
  start(httpPort: number, env?: Record<string, string>, eabKeys?: Record<string, string>, dnsServer?: string): Promise<Pebble>;
}

export interface Pebble {
  /** The roots of the certificates Pebble issues (new ones every start), PEM. */
  issuingRootsPem(): Promise<string>;
  /** Pebble's log so far. */
  output(): string;
  close(): Promise<void>;
}

/**
 * The configuration of an ACME issuer `name` ordering from Pebble and trusting its TLS root, as
 * YAML under `issuers:`; `settings` are more of its lines (`challenge: dns-01`, say), as written.
 */
export function pebbleIssuerYaml(setup: Pick<PebbleSetup, 'directoryUrl' | 'tlsRootPem'>, name: string, settings: string[] = []): string {
  const bundle = setup.tlsRootPem.trimEnd().split('\n').map((l) => `      ${l}`);
  return [`  ${name}:`, '    type: acme', `    directoryUrl: ${setup.directoryUrl}`, '    termsOfServiceAgreed: true', ...settings.map((l) => `    ${l}`), '    caBundle: |', ...bundle, ''].join('\n');
}

/**
 * Pebble (Let's Encrypt's test ACME server, the Debian package) with its own DNS server
 * (pebble-challtestsrv, answering every name with 127.0.0.1): it validates http-01 challenges by
 * connecting to port `httpPort` of 127.0.0.1. Its ports are taken free here; the directory URL is
 * known before it starts (a client's configuration names it first).
 * `start`'s env: e.g. PEBBLE_WFE_NONCEREJECT (a share of good nonces refused as bad, RFC 8555 6.5).
 */
export async function preparePebble(dir: string): Promise<PebbleSetup> {
  const root = await makeCert({ subject: 'CN=Pebble Test TLS Root', ca: true });
  const tls = await makeCert({ subject: 'CN=localhost', sans: ['localhost', '127.0.0.1'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: root });
  writeFileSync(join(dir, 'pebble-cert.pem'), tls.pem);
  writeFileSync(join(dir, 'pebble-key.pem'), await tls.keyPem());
  const [acmePort, managementPort, tlsAlpnPort] = [await freePort(), await freePort(), await freePort()];
  const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
  return { directoryUrl, tlsRootPem: root.pem, managementUrl: `https://127.0.0.1:${managementPort}`, tlsAlpnPort, start: (httpPort, env = {}, eabKeys, dnsServer) => start(dir, { acmePort, managementPort, httpPort, tlsAlpnPort }, root.pem, env, eabKeys, dnsServer) };
}

async function start(dir: string, ports: Record<'acmePort' | 'managementPort' | 'httpPort' | 'tlsAlpnPort', number>, tlsRootPem: string, env: Record<string, string>, eabKeys?: Record<string, string>, dnsServer?: string): Promise<Pebble> {
  const { acmePort, managementPort, httpPort, tlsAlpnPort } = ports;
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({ pebble: {
    listenAddress: `127.0.0.1:${acmePort}`, managementListenAddress: `127.0.0.1:${managementPort}`,
    certificate: join(dir, 'pebble-cert.pem'), privateKey: join(dir, 'pebble-key.pem'),
    httpPort, tlsPort: tlsAlpnPort, ocspResponderURL: '', externalAccountBindingRequired: eabKeys !== undefined, ...(eabKeys ? { externalAccountMACKeys: eabKeys } : {}),
  } }));
  // Its own DNS stand-in only when no DNS server is given.
  const dns = dnsServer ? undefined : await startChallengeTestDns();
  const resolver = dnsServer ?? dns!.dnsAddress;
  let output = '';
  const pebble = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', resolver, '-strict'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', ...env } });
  pebble.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  pebble.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const close = async () => {
    await Promise.all([dns?.close(), new Promise<void>((resolve) => {
      if (pebble.exitCode !== null || pebble.signalCode !== null) return resolve();
      pebble.once('exit', () => resolve());
      pebble.kill('SIGTERM');
    })]);
  };
  // Pebble logs to stderr: its output as a whole is watched for the line.
  for (const deadline = Date.now() + 30_000; !/Listening on: 127\.0\.0\.1:\d+/.test(output); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline || pebble.exitCode !== null) {
      await close();
      throw new Error(`pebble did not start:\n${output}`);
    }
  }
  const management = `https://127.0.0.1:${managementPort}`;
  return {
    issuingRootsPem: async () => {
      const { request } = await import('node:https');
      return new Promise((resolve, reject) => {
        request(`${management}/roots/0`, { ca: tlsRootPem }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject).end();
      });
    },
    output: () => (dns?.output() ?? '') + output,
    close,
  };
}
