// npm run bench:inventory — with 100,000 certificates stored, a filtered page and the
// expiring-within-30-days query read about what they return: the items read and the time, beside
// the same queries over 1,000 certificates in the same run.
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import type { CertificateFilter } from '../shared/ports.ts';
import type { StoredCertificate } from '../shared/model.ts';
import { freshTable } from '../test/support/dynamo.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const DAY = 86_400_000;
const now = Date.parse('2027-01-01T00:00:00Z');
const ENVS = ['prod', 'staging', 'dev', 'test', 'sandbox'];

function cert(i: number): StoredCertificate {
  const name = `h${i}.svc${i % 97}.example.com`;
  return {
    id: i.toString(16).padStart(32, '0'), version: 3, commonName: name, subjectAlternativeNames: [name], emailAddresses: [], uris: [],
    subject: `CN=${name}`, issuer: `CN=Issuer ${i % 4}`, serialNumber: '01', notBefore: new Date(now - 30 * DAY).toISOString(),
    notAfter: new Date(now + ((i * 7919) % 730) * DAY).toISOString(), fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa',
    keyAlgorithm: 'EC_P256', keyType: 'EC', curve: 'P256', signatureAlgorithm: 'ecdsa-with-SHA256', crlUrls: [], ocspUrls: [], caIssuersUrls: [],
    sctCount: 0, selfSigned: false, certificatePem: 'x'.repeat(900), chainPem: '', status: i % 9 === 0 ? 'superseded' : 'active', source: 'issued',
    targets: [], environment: ENVS[i % ENVS.length], owner: `team-${i % 50}`, createdAt: new Date(now - i * 1000).toISOString(),
  };
}

async function fill(store: DynamoCertificateStore, count: number) {
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < count) await store.create(cert(next++));
  }));
}

async function measure(store: DynamoCertificateStore, filter: CertificateFilter, limit: number) {
  await store.list(filter, limit);
  const start = performance.now();
  const runs = 20;
  let page;
  for (let i = 0; i < runs; i++) page = await store.list(filter, limit);
  return { ms: (performance.now() - start) / runs, returned: page!.items.length, itemsRead: page!.itemsRead };
}

const queries: [string, CertificateFilter, number][] = [
  ['owner=team-7, first page of 50', { owner: 'team-7' }, 50],
  ['environment=staging + status=active, page of 50', { environment: 'staging', status: 'active' }, 50],
  ['domain=svc42.example.com, page of 50', { domain: 'svc42.example.com' }, 50],
  ['expiring within 30 days (all of them)', { expiringBefore: new Date(now + 30 * DAY) }, 100_000],
];

const results: Record<number, Awaited<ReturnType<typeof measure>>[]> = {};
for (const size of [1_000, 100_000]) {
  const db = await freshTable();
  const store = new DynamoCertificateStore(db.table);
  const t = performance.now();
  await fill(store, size);
  console.log(`stored ${size} certificates in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  results[size] = [];
  for (const [, filter, limit] of queries) results[size].push(await measure(store, filter, limit));
  await db.close();
}
for (const [i, [name]] of queries.entries()) {
  const small = results[1_000][i];
  const big = results[100_000][i];
  console.log(`${name}:`);
  console.log(`  1,000 stored:   returned ${small.returned}, read ${small.itemsRead}, ${small.ms.toFixed(1)} ms`);
  console.log(`  100,000 stored: returned ${big.returned}, read ${big.itemsRead}, ${big.ms.toFixed(1)} ms (read/returned ${(big.itemsRead / Math.max(big.returned, 1)).toFixed(2)})`);
}
