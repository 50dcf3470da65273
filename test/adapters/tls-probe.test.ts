import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { servedCertificates, CertificateMessageError } from '../../adapters/tls/certificate-message.ts';
import { probeTls } from '../../adapters/tls/tls-probe.ts';
import { pemBlocks } from '../../shared/x509/pem.ts';
import { ROOT } from '../support/processes.ts';
import { freePort, waitUntilListening } from '../support/ports.ts';

// ops/13: a complete chain sent in the wrong order (see test/fixtures/ops-cases/SOURCE.md).
const CASE = join(ROOT, 'test/fixtures/ops-cases/13-chain-out-of-order');
const der = (file: string) => pemBlocks(readFileSync(join(CASE, file), 'utf8')).map((b) => b.der);
const [leaf] = der('leaf.pem');
const outOfOrder = der('chain-out-of-order.pem');

describe('the chain a TLS server sends, read in the order it sends it', () => {
  let server: ChildProcess | undefined;
  afterEach(() => void server?.kill());

  /** openssl s_server with the leaf, then intermediate 1, then intermediate 2 (RFC 5246 7.4.2 wants them the other way round). */
  async function serve(options: string[]): Promise<number> {
    const port = await freePort();
    server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', join(CASE, 'leaf.pem'), '-key', join(CASE, 'leaf.key'), '-cert_chain', join(CASE, 'chain-out-of-order.pem'), '-www', '-quiet', ...options], { stdio: 'ignore' });
    await waitUntilListening(server, [port], 'openssl s_server');
    return port;
  }

  it.each([
    ['TLS 1.2, sent in clear (RFC 5246 7.4.2)', ['-tls1_2'], 'TLSv1.2'],
    ['TLS 1.3 under TLS_AES_128_GCM_SHA256 (RFC 8446 4.4.2, 7.3)', ['-tls1_3', '-ciphersuites', 'TLS_AES_128_GCM_SHA256'], 'TLSv1.3'],
    ['TLS 1.3 under TLS_AES_256_GCM_SHA384', ['-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384'], 'TLSv1.3'],
    ['TLS 1.3 under TLS_CHACHA20_POLY1305_SHA256', ['-tls1_3', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256'], 'TLSv1.3'],
    ['TLS 1.3 after a HelloRetryRequest (RFC 8446 4.1.4)', ['-tls1_3', '-groups', 'P-384'], 'TLSv1.3'],
  ])('%s', async (_name, options, protocol) => {
    const served = await probeTls('127.0.0.1', await serve(options), { serverName: 'localhost', timeoutMs: 5000 });
    expect(served.protocol).toBe(protocol);
    expect(served.chain.map((d) => d.toString('base64'))).toEqual([leaf, ...outOfOrder].map((d) => d.toString('base64')));
  });

  it('refuses bytes that hold no complete Certificate message, so the probe falls back to the linked chain', () => {
    const record = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, 3, 3, body.length >> 8, body.length & 0xff]), body]);
    const message = (type: number, body: Buffer) => Buffer.concat([Buffer.from([type, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
    const list = (certs: Buffer[]) => {
      const entries = Buffer.concat(certs.map((c) => Buffer.concat([Buffer.from([0, c.length >> 8, c.length & 0xff]), c])));
      return Buffer.concat([Buffer.from([0, entries.length >> 8, entries.length & 0xff]), entries]);
    };
    const whole = record(22, message(11, list([leaf, outOfOrder[0]])));
    expect(servedCertificates(whole)).toEqual([leaf, outOfOrder[0]]);
    expect(() => servedCertificates(whole.subarray(0, whole.length - 10))).toThrow(CertificateMessageError);
    expect(() => servedCertificates(record(22, message(2, Buffer.alloc(38))))).toThrow(/no Certificate message/);
    // An entry whose length runs past the list is refused, not read past.
    const broken = list([leaf]);
    broken[5] += 1;
    expect(() => servedCertificates(record(22, message(11, broken)))).toThrow(CertificateMessageError);
  });
});
