import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { freshTable } from '../support/dynamo.ts';
import { listCertificates } from '../../services/inventory/list-certificates.ts';

const DAY = 86_400_000;
const base = Date.parse('2027-01-01T00:00:00Z');
const ENVS = ['prod', 'staging', 'dev'];
const OWNERS = ['team-a', 'team-b', 'team-c', 'team-d'];

/** 600 certificates spread over environments, owners, issuers, statuses and domains. */
function cert(i: number): StoredCertificate {
  const domain = i % 5 === 0 ? 'shop.example.com' : `svc${i % 7}.example.org`;
  const name = `h${i}.${domain}`;
  return {
    id: i.toString(16).padStart(32, '0'), version: 3, commonName: name, subjectAlternativeNames: [name], emailAddresses: [], uris: [],
    subject: `CN=${name}`, issuer: i % 2 ? 'CN=Issuer One' : 'CN=Issuer Two', serialNumber: '01',
    notBefore: new Date(base - 90 * DAY).toISOString(), notAfter: new Date(base + (i % 100) * DAY).toISOString(),
    fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa', keyAlgorithm: 'EC_P256', keyType: 'EC', signatureAlgorithm: 'ecdsa-with-SHA256',
    crlUrls: [], ocspUrls: [], caIssuersUrls: [], sctCount: 0, selfSigned: false, certificatePem: 'pem', chainPem: '',
    status: i % 10 === 3 ? 'superseded' : i % 4 === 1 ? 'discovered' : 'active', source: 'issued', targets: [],
    environment: ENVS[i % 3], owner: OWNERS[i % 4], createdAt: new Date(base + i * 1000).toISOString(),
  };
}

describe('inventory filters read about what they return', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let store: DynamoCertificateStore;
  const all = Array.from({ length: 600 }, (_, i) => cert(i));
  beforeAll(async () => {
    db = await freshTable();
    store = new DynamoCertificateStore(db.table);
    for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((c) => store.create(c)));
  }, 120_000);
  afterAll(() => db.close());

  const everything = async (filter: Parameters<DynamoCertificateStore['list']>[0], limit = 40) => {
    const items: StoredCertificate[] = [];
    let itemsRead = 0;
    let token: string | undefined;
    do {
      const page = await store.list(filter, limit, token);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      items.push(...page.items);
      itemsRead += page.itemsRead;
      token = page.nextToken;
    } while (token);
    return { items, itemsRead };
  };

  it.each([
    ['environment', { environment: 'staging' }, (c: StoredCertificate) => c.environment === 'staging'],
    ['owner', { owner: 'team-c' }, (c: StoredCertificate) => c.owner === 'team-c'],
    ['status', { status: 'discovered' }, (c: StoredCertificate) => c.status === 'discovered'],
    ['issuer', { issuer: 'CN=Issuer One' }, (c: StoredCertificate) => c.issuer === 'CN=Issuer One'],
  ] as const)('by %s: exactly the matching certificates, newest first, reading only them', async (_name, filter, predicate) => {
    const expected = all.filter(predicate).map((c) => c.id).reverse();
    const { items, itemsRead } = await everything(filter);
    expect(items.map((c) => c.id)).toEqual(expected);
    expect(itemsRead).toBe(expected.length);
  });

  it('by domain, subdomains included and look-alikes not, reading pointer and certificate once each', async () => {
    const expected = all.filter((c) => c.commonName!.endsWith('.shop.example.com')).map((c) => c.id).sort();
    const { items, itemsRead } = await everything({ domain: 'shop.example.com' });
    expect(items.map((c) => c.id).sort()).toEqual(expected);
    expect(itemsRead).toBe(2 * expected.length);
    expect((await everything({ domain: 'example.co' })).items).toEqual([]);
    expect((await everything({ domain: 'h5.shop.example.com' })).items.map((c) => c.commonName)).toEqual(['h5.shop.example.com']);
  });

  it('by expiry, soonest first, only live certificates', async () => {
    const before = new Date(base + 10 * DAY);
    const expected = all.filter((c) => Date.parse(c.notAfter) < before.getTime() && c.status !== 'superseded');
    const { items, itemsRead } = await everything({ expiringBefore: before }, 25);
    expect(items.map((c) => c.id).sort()).toEqual(expected.map((c) => c.id).sort());
    expect(itemsRead).toBe(expected.length);
  });

  it('combines filters: the most selective index, the rest checked on what it returns', async () => {
    const { items } = await everything({ environment: 'prod', owner: 'team-a', status: 'active' });
    expect(items.map((c) => c.id).sort()).toEqual(all.filter((c) => c.environment === 'prod' && c.owner === 'team-a' && c.status === 'active').map((c) => c.id).sort());
  });

  it('lists as expired what expired since the last sweep, beside what the sweep marked (status=expired)', async () => {
    // At base + 2.5 days, certificates 0, 1 and 2 (and 100, 101, ...) are past their notAfter; none is marked expired yet.
    const now = new Date(base + 2.5 * DAY);
    await store.update(all[5].id, { status: 'expired' });
    const page = await listCertificates({ status: 'expired' }, 100, undefined, now, store);
    const ids = page.items.map((c) => c.id);
    expect(ids).toContain(all[5].id);
    const pastExpiry = all.filter((c) => Date.parse(c.notAfter) < now.getTime() && (c.status === 'active' || c.status === 'discovered')).map((c) => c.id);
    expect(pastExpiry.length).toBeGreaterThan(5);
    for (const id of pastExpiry) expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('pages status=expired to its end: every expired certificate once, swept or not, whatever the page size', async () => {
    const now = new Date(base + 2.5 * DAY);
    await store.update(all[9].id, { status: 'expired' });
    const swept = [all[5].id, all[9].id];
    const unswept = all.filter((c) => Date.parse(c.notAfter) < now.getTime() && (c.status === 'active' || c.status === 'discovered')).map((c) => c.id);
    const expected = [...unswept, ...swept].sort();
    // 2: more pages than either part; unswept.length: the unswept part ends a page exactly; 100: one page.
    for (const limit of [2, 5, unswept.length, 100]) {
      const ids: string[] = [];
      let token: string | undefined;
      do {
        const page = await listCertificates({ status: 'expired' }, limit, token, now, store);
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((c) => c.id));
        token = page.nextToken;
      } while (token);
      expect(ids.sort()).toEqual(expected);
    }
  });

  it('refuses a status=expired page token it did not give out, naming nextToken', async () => {
    const now = new Date(base + 2.5 * DAY);
    const first = await listCertificates({ status: 'expired' }, 2, undefined, now, store);
    const listed = await store.list({ status: 'active' }, 2);
    for (const token of [listed.nextToken!, `s${first.nextToken!.slice(1)}`, 'x', `u${first.nextToken!.slice(2)}`]) {
      await expect(listCertificates({ status: 'expired' }, 2, token, now, store)).rejects.toMatchObject({ name: 'ValidationError', field: 'nextToken' });
    }
  });

  it('moves a certificate between status indexes when its status changes', async () => {
    await store.update(all[0].id, { status: 'revoked' });
    expect((await everything({ status: 'revoked' })).items.map((c) => c.id)).toEqual([all[0].id]);
    expect((await everything({ status: 'active' })).items.map((c) => c.id)).not.toContain(all[0].id);
  });
});

describe('a certificate whose issuer, serial or names pass DynamoDB key limits (a scan or CT records what it sees)', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let store: DynamoCertificateStore;
  beforeAll(async () => {
    db = await freshTable();
    store = new DynamoCertificateStore(db.table);
  });
  afterAll(() => db.close());

  it('is stored with every pointer, and found by issuer, serial and domain', async () => {
    const longName = `${'a'.repeat(3000)}.deep.example.net`;
    const huge: StoredCertificate = { ...cert(1), issuer: `CN=${'I'.repeat(3000)}`, serialNumber: 'AB:'.repeat(1500).slice(0, -1), commonName: `${'c'.repeat(3000)}.example.net`, subjectAlternativeNames: [longName] };
    const sibling: StoredCertificate = { ...huge, id: 'f'.repeat(32), serialNumber: `${huge.serialNumber}:CD`, subjectAlternativeNames: [`${'a'.repeat(2999)}b.deep.example.net`] };
    // Both pairs of keys share their first kilobyte: what tells them apart is the rest.
    expect(await store.create(huge)).toBe(true);
    expect(await store.create(sibling)).toBe(true);
    expect(await store.idsByIssuerSerial([huge, sibling])).toEqual([huge.id, sibling.id]);
    expect((await store.list({ issuer: huge.issuer }, 10)).items.map((c) => c.id).sort()).toEqual([huge.id, sibling.id].sort());
    expect((await store.list({ domain: 'deep.example.net' }, 10)).items.map((c) => c.id).sort()).toEqual([huge.id, sibling.id].sort());
    expect((await store.list({ domain: 'example.net' }, 10)).items).toHaveLength(2);
  });
});
