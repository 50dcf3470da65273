import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoScanStore } from '../adapters/dynamodb/scan-store.ts';
import { scanEndpoints, type ScanDeps } from '../services/inventory/run-scan.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { Scan } from '../shared/model.ts';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { freshTable } from './support/dynamo.ts';
import { makeCert } from './support/pki.ts';
import { x509 } from './support/x509-library.ts';

const DAY = 86_400_000;

/**
 * What a scan found revoked stays revoked (RFC 5280 5.3.1: only certificateHold is ever lifted,
 * and certops offers no hold), whatever a later scan can or cannot tell; and the alert is made
 * again until it has been published. The TLS server and the CRL server are the scan's network
 * boundary, answered here by functions; the stores are the real ones.
 */
describe('a certificate a scan found revoked', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  beforeAll(async () => void (db = await freshTable()));
  afterAll(() => db.close());

  it('stays revoked when a later scan cannot check it, and is announced until the announcement goes out', async () => {
    const root = await makeCert({ subject: 'CN=Rescan Root', ca: true });
    const ca = await makeCert({ subject: 'CN=Rescan CA', ca: true, issuer: root });
    const leaf = await makeCert({ subject: 'CN=victim.example.test', sans: ['victim.example.test'], eku: ['1.3.6.1.5.5.7.3.1'], issuer: ca, serialNumber: '2002', crlUrl: 'http://crl.example.test/ca.crl' });
    const crl = new Uint8Array((await x509.X509CrlGenerator.create({
      issuer: ca.cert.subject, thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + DAY),
      entries: [{ serialNumber: '2002', revocationDate: new Date(Date.now() - DAY), reason: x509.X509CrlReason.keyCompromise }],
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams, signingKey: ca.keys.privateKey,
    })).rawData);
    const certificates = new DynamoCertificateStore(db.table);
    const published: BusEvent[] = [];
    let throttled = 1;
    let served = [leaf.der, ca.der];
    let crlServerUp = true;
    const deps: ScanDeps = {
      clock: { now: () => new Date() }, ownership: [], certificates, scans: new DynamoScanStore(db.table),
      publisher: {
        async publish(events) {
          // The first announcement of the revocation is lost (PutEvents throttled, or the process killed there).
          if (events.some((e) => e.detailType === 'finding.raised') && throttled-- > 0) throw new Error('ThrottlingException');
          published.push(...events);
        },
      },
      scanner: async () => ({ chain: served, protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }),
      trustedRoots: async () => [parseCertificate(root.der)],
      concurrency: 1, timeoutMs: 1000, checkLegacyProtocols: false,
      revocationFetcher: { crl: async () => { if (!crlServerUp) throw new Error('connection refused'); return crl; }, ocsp: async () => { throw new Error('no responder'); } },
      ocspNonce: () => new Uint8Array(16),
    };
    const scan = async (scanId: string) => {
      const record: Scan = { scanId, status: 'running', targets: ['10.0.0.1'], ports: [443], total: 1, done: 0, startedAt: new Date().toISOString(), requestedBy: 'admin', legacyProtocols: false };
      await deps.scans.create(record);
      return scanEndpoints(record, [{ host: '10.0.0.1', port: 443, serverName: 'victim.example.test' }], Date.now() + 10_000, deps, async () => undefined);
    };
    const stored = async () => (await certificates.list({}, 10)).items.find((c) => c.commonName === 'victim.example.test')!;

    await scan('s1').catch(() => undefined);
    expect((await stored()).revocation).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    // The next scan announces what the first could not.
    await scan('s2');
    expect(published.filter((e) => e.detailType === 'finding.raised' && e.detail.findingId === 'revoked')).toHaveLength(1);
    // Served without its issuer, then with its CRL server down: neither makes it look better.
    served = [leaf.der];
    await scan('s3');
    served = [leaf.der, ca.der];
    crlServerUp = false;
    await scan('s4');
    expect((await stored()).revocation).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
  });
});
