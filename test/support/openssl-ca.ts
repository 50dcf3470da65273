import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pemBlocks } from '../../shared/x509/pem.ts';
import type { TestCert } from './pki.ts';
import { waitUntilListening } from './ports.ts';
import { openssl } from './processes.ts';

/** openssl's index.txt and CRL time form: YYMMDDHHMMSSZ. */
const indexTime = (d: Date) => `${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`;

export interface IndexEntry {
  cert: TestCert;
  revoked?: { at: Date; reason: 'keyCompromise' | 'superseded' | 'cessationOfOperation' };
}

/**
 * A CA as `openssl ca` and `openssl ocsp` run it: a folder with the CA's certificate and key and an
 * index.txt of what it issued and revoked, from which openssl writes CRLs and answers OCSP.
 */
export async function opensslCa(ca: TestCert, entries: IndexEntry[]) {
  const dir = mkdtempSync(join(tmpdir(), 'certops-openssl-ca-'));
  const file = (name: string) => join(dir, name);
  writeFileSync(file('ca.pem'), ca.pem);
  writeFileSync(file('ca.key'), await ca.keyPem(), { mode: 0o600 });
  writeFileSync(file('index.txt'), entries.map(({ cert, revoked }) => {
    const serial = cert.cert.serialNumber.toUpperCase();
    const expiry = indexTime(cert.cert.notAfter);
    return revoked ? `R\t${expiry}\t${indexTime(revoked.at)},${revoked.reason}\t${serial}\tunknown\t/CN=${serial}\n` : `V\t${expiry}\t\t${serial}\tunknown\t/CN=${serial}\n`;
  }).join(''));
  writeFileSync(file('crlnumber'), '1000\n');
  writeFileSync(file('openssl.cnf'), `[ca]\ndefault_ca = CA_default\n[CA_default]\ndatabase = ${file('index.txt')}\ncrlnumber = ${file('crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 7\n`);
  const children: ReturnType<typeof spawn>[] = [];
  return {
    dir,
    /** A CRL `openssl ca -gencrl` writes from the index (v2, reason codes, a CRL number), as DER. */
    crl(): Buffer {
      openssl(['ca', '-config', file('openssl.cnf'), '-gencrl', '-keyfile', file('ca.key'), '-cert', file('ca.pem'), '-out', file('crl.pem')]);
      return pemBlocks(readFileSync(file('crl.pem'), 'utf8'))[0].der;
    },
    /** `openssl ocsp` answering for this CA from the index on `port`, signing with `signer` (the CA itself or a delegated responder). */
    async ocspResponder(port: number, signer: TestCert, name: string): Promise<string> {
      writeFileSync(file(`${name}.pem`), signer.pem);
      writeFileSync(file(`${name}.key`), await signer.keyPem(), { mode: 0o600 });
      const child = spawn('openssl', ['ocsp', '-index', file('index.txt'), '-port', String(port), '-CA', file('ca.pem'), '-rsigner', file(`${name}.pem`), '-rkey', file(`${name}.key`), '-nmin', '5', '-ignore_err'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
      children.push(child);
      await waitUntilListening(child, [port], `openssl ocsp (${name})`, () => log);
      return `http://127.0.0.1:${port}/`;
    },
    close(): void {
      for (const c of children) c.kill();
    },
  };
}

/** An HTTP server on loopback answering GET `path` with `bodies.get(path)` (404 otherwise); change the map to change what it serves. */
export async function startFileServer(bodies: Map<string, Uint8Array>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/pkix-crl' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}
