import { ValidationError } from '../../shared/errors.ts';
import { createHash } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { batchWrite, getItems } from './batch.ts';
import type { CertificateFilter, CertificateStore } from '../../shared/ports.ts';
import type { CertificateStatus, Endpoint, HistoryEntry, Page, StoredCertificate } from '../../shared/model.ts';
import { boundedKeyPart, getItem, isConditionFailure, putIfAbsent, keptPage, queryAll, setFields, withoutKeys, type Item, type Key, type Table } from './table.ts';
import { tbsIdentity } from '../../shared/ct/tbs-identity.ts';
import { pemBlocks } from '../../shared/x509/pem.ts';

const key = (id: string) => ({ pk: `CERT#${id}`, sk: 'CERT' });
const INDEXED = ['status', 'notAfter', 'environment', 'owner', 'issuer'] as const;

// Key parts from a certificate's content, bounded well inside DynamoDB's 2048-byte partition and
// 1024-byte sort keys with their prefixes: issuers and serials in partition keys, names in sort keys.
const issuerPart = (issuer: string) => boundedKeyPart(issuer, 1024);
const serialPart = (serialNumber: string) => boundedKeyPart(serialNumber, 1024);
const namePart = (reversed: string) => boundedKeyPart(reversed, 512);

/** A DNS name reversed label by label, with a trailing dot: a domain's subdomains share its prefix, and only they do. */
export function reversedName(name: string): string {
  return `${name.toLowerCase().replace(/^\*\./, '').split('.').reverse().join('.')}.`;
}

/**
 * Every index a certificate sits in, computed from its fields: the listing (gsi1), the sparse
 * expiry index (only while it can still expire on someone: active or discovered), and one index
 * per filter of GET /certificates. Attributes for indexes it is not in come back undefined, so an
 * update removes them.
 */
function indexKeys(c: Pick<StoredCertificate, 'id' | 'createdAt' | typeof INDEXED[number]>) {
  const sk = `${c.createdAt}#${c.id}`;
  const live = c.status === 'active' || c.status === 'discovered';
  return {
    gsi1pk: 'CERTS', gsi1sk: sk,
    gsi2pk: live ? 'EXPIRY' : undefined, gsi2sk: live ? `${c.notAfter}#${c.id}` : undefined,
    gsi3pk: c.environment ? `ENV#${c.environment}` : undefined, gsi3sk: c.environment ? sk : undefined,
    gsi4pk: c.owner ? `OWNER#${c.owner}` : undefined, gsi4sk: c.owner ? sk : undefined,
    gsi5pk: `STATUS#${c.status}`, gsi5sk: sk,
    gsi6pk: `ISSUER#${issuerPart(c.issuer)}`, gsi6sk: sk,
  };
}

const definedOnly = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function matchesFilter(c: StoredCertificate, f: CertificateFilter): boolean {
  if (f.environment && c.environment !== f.environment) return false;
  if (f.owner && c.owner !== f.owner) return false;
  if (f.status && c.status !== f.status) return false;
  if (f.issuer && c.issuer !== f.issuer) return false;
  if (f.expiringBefore && !(Date.parse(c.notAfter) < f.expiringBefore.getTime() && (c.status === 'active' || c.status === 'discovered'))) return false;
  if (f.domain) {
    const prefix = reversedName(f.domain);
    if (!c.subjectAlternativeNames.concat(c.commonName ?? []).some((n) => reversedName(n).startsWith(prefix))) return false;
  }
  return true;
}

/** The index that narrows a filter most in the order asked for, and how to query it. */
function chooseIndex(f: CertificateFilter): { index: string; pkName: string; pk: string; skBefore?: string; skPrefix?: string; newestFirst: boolean } {
  if (f.domain) return { index: 'gsi1', pkName: 'gsi1pk', pk: 'NAMES', skPrefix: reversedName(f.domain), newestFirst: false };
  const byExpiry = f.sort === 'expiry' || f.sort === '-expiry';
  if (f.expiringBefore || byExpiry) return { index: 'expiry', pkName: 'gsi2pk', pk: 'EXPIRY', skBefore: f.expiringBefore?.toISOString(), newestFirst: f.sort === '-expiry' };
  const newestFirst = f.sort !== 'oldest';
  if (f.environment) return { index: 'byEnvironment', pkName: 'gsi3pk', pk: `ENV#${f.environment}`, newestFirst };
  if (f.owner) return { index: 'byOwner', pkName: 'gsi4pk', pk: `OWNER#${f.owner}`, newestFirst };
  if (f.issuer) return { index: 'byIssuer', pkName: 'gsi6pk', pk: `ISSUER#${issuerPart(f.issuer)}`, newestFirst };
  if (f.status) return { index: 'byStatus', pkName: 'gsi5pk', pk: `STATUS#${f.status}`, newestFirst };
  return { index: 'gsi1', pkName: 'gsi1pk', pk: 'CERTS', newestFirst };
}

const tbsKey = (tbsId: string) => ({ pk: `TBS#${tbsId}`, sk: 'TBS' });
// Issuer DNs can be long: the key holds their hash.
const serialKey = (issuer: string, serialNumber: string) => ({ pk: `SERIAL#${createHash('sha256').update(issuer).digest('hex').slice(0, 32)}#${serialPart(serialNumber)}`, sk: 'SERIAL' });

export class DynamoCertificateStore implements CertificateStore {
  constructor(private readonly table: Table) {}

  async create(cert: StoredCertificate): Promise<boolean> {
    const created = await putIfAbsent(this.table, { ...cert, ...key(cert.id), ...definedOnly(indexKeys(cert)) });
    if (created) await this.writeNamePointers(cert);
    return created;
  }

  /**
   * One small item per DNS name in the certificate's partition, indexed by reversed name, for the
   * domain filter; and ones keyed by its TBS identity and by issuer and serial, so CT finds it
   * from a precertificate.
   */
  private async writeNamePointers(cert: StoredCertificate): Promise<void> {
    const names = [...new Set(cert.subjectAlternativeNames.concat(cert.commonName ?? []).filter((n) => /[a-z]/i.test(n)).map((n) => namePart(reversedName(n))))];
    // Records made in tests and benchmarks may carry no real certificate: they get no TBS pointer.
    const der = pemBlocks(cert.certificatePem).find((b) => b.label === 'CERTIFICATE')?.der;
    const identities: (Item & Key)[] = [
      ...(der ? [{ ...tbsKey(tbsIdentity(der, true)), certificateId: cert.id }] : []),
      { ...serialKey(cert.issuer, cert.serialNumber), certificateId: cert.id },
    ];
    // What certops issued owns its identity; anything else (an import can bring a certificate
    // sharing an issued one's issuer and serial) only takes an identity nobody holds, so CT still
    // recognises what certops issued.
    const claimed = cert.source === 'issued' ? identities : [];
    if (cert.source !== 'issued') for (const pointer of identities) await putIfAbsent(this.table, pointer);
    const pointers: Item[] = [
      ...claimed,
      ...names.map((r) => ({ pk: `CERT#${cert.id}`, sk: `NAME#${r}`, gsi1pk: 'NAMES', gsi1sk: `${r}#${cert.id}`, certificateId: cert.id })),
    ];
    await batchWrite(this.table, pointers.map((put) => ({ put: put as Item & Key })));
  }

  async idsByTbsIdentity(tbsIds: string[]): Promise<(string | undefined)[]> {
    return this.pointedTo(tbsIds.map(tbsKey));
  }

  async idsByIssuerSerial(certificates: { issuer: string; serialNumber: string }[]): Promise<(string | undefined)[]> {
    return this.pointedTo(certificates.map((c) => serialKey(c.issuer, c.serialNumber)));
  }

  private async pointedTo(pointers: Key[]): Promise<(string | undefined)[]> {
    return (await getItems(this.table, pointers)).map((item) => (item ? String(item.certificateId) : undefined));
  }

  async getMany(ids: string[]): Promise<(StoredCertificate | undefined)[]> {
    return (await getItems(this.table, ids.map(key))).map((item) => item && withoutKeys<StoredCertificate>(item));
  }

  async get(id: string): Promise<StoredCertificate | undefined> {
    const item = await getItem(this.table, key(id));
    return item && withoutKeys<StoredCertificate>(item);
  }

  async replaceTargets(id: string, from: string[], to: string[]): Promise<boolean> {
    // Targets hold each name once: the same size and every name of `from` is the same list as far
    // as order goes, and a list condition DynamoDB (and dynalite) evaluates element by element.
    const names: Record<string, string> = { '#t': 'targets' };
    const values: Record<string, unknown> = { ':to': to, ':n': from.length };
    const contains = from.map((t, i) => ((values[`:f${i}`] = t), `contains(#t, :f${i})`));
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: key(id), UpdateExpression: 'SET #t = :to',
        ConditionExpression: ['attribute_exists(pk)', 'size(#t) = :n', ...contains].join(' AND '),
        ExpressionAttributeNames: names, ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async update(id: string, fields: Partial<StoredCertificate>): Promise<void> {
    if (!INDEXED.some((f) => f in fields)) return setFields(this.table, key(id), fields);
    const current = await this.get(id);
    if (!current) return;
    await setFields(this.table, key(id), { ...fields, ...indexKeys({ ...current, ...fields }) });
  }

  async transition(id: string, from: CertificateStatus, fields: Partial<StoredCertificate>): Promise<boolean> {
    const current = await this.get(id);
    if (current?.status !== from) return false;
    try {
      await setFields(this.table, key(id), { ...fields, ...indexKeys({ ...current, ...fields }) }, [], { status: from });
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async list(filter: CertificateFilter, limit: number, nextToken?: string): Promise<Page<StoredCertificate> & { itemsRead: number }> {
    const index = chooseIndex(filter);
    // A page token carries its order: one from a listing in the other direction of the same index is refused, not read backwards.
    const order = index.newestFirst ? 'd' : 'a';
    if (nextToken && (nextToken.length < 2 || nextToken[0] !== order)) throw new ValidationError('nextToken is not one this listing returned (in this order: a page token from another sort is refused too)', 'nextToken');
    // The domain index holds pointers: each certificate they name is one more item read.
    let pointed = 0;
    const page = await keptPage<StoredCertificate>(this.table, index, limit, nextToken?.slice(1), async (found, kept) => {
      const certs = index.pk === 'NAMES' ? await this.certificatesOf(found) : found.map((i) => withoutKeys<StoredCertificate>(i));
      if (index.pk === 'NAMES') pointed += certs.length;
      return certs.filter((c) => matchesFilter(c, filter) && !kept.some((x) => x.id === c.id));
    });
    return { items: page.items, nextToken: page.nextToken && `${order}${page.nextToken}`, itemsRead: page.itemsRead + pointed };
  }

  private async certificatesOf(pointers: Item[]): Promise<StoredCertificate[]> {
    return (await this.getMany([...new Set(pointers.map((p) => String(p.certificateId)))])).filter((c): c is StoredCertificate => Boolean(c));
  }

  async expiringBefore(before: Date, limit: number, nextToken?: string) {
    return this.list({ expiringBefore: before }, limit, nextToken);
  }

  async addHistory(id: string, entry: HistoryEntry): Promise<void> {
    const sk = `HIST#${entry.attempt}#${entry.kind}#${entry.target ?? ''}#${entry.outcome}`;
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...entry, pk: `CERT#${id}`, sk } }));
  }

  async history(id: string): Promise<HistoryEntry[]> {
    return (await this.details(id)).history;
  }

  async recordEndpoint(id: string, endpoint: Endpoint): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...endpoint, pk: `CERT#${id}`, sk: `EP#${endpoint.host}:${endpoint.port}` } }));
  }

  async details(id: string): Promise<{ certificate?: StoredCertificate; history: HistoryEntry[]; endpoints: Endpoint[] }> {
    const items = await queryAll(this.table, { pkName: 'pk', pk: `CERT#${id}` });
    const of = (prefix: string) => items.filter((i) => String(i.sk).startsWith(prefix));
    const cert = items.find((i) => i.sk === 'CERT');
    return {
      certificate: cert && withoutKeys<StoredCertificate>(cert),
      history: of('HIST#').map((i) => withoutKeys<HistoryEntry>(i)).sort((a, b) => a.at.localeCompare(b.at)),
      endpoints: of('EP#').map((i) => withoutKeys<Endpoint>(i)).sort((a, b) => `${a.host}:${a.port}`.localeCompare(`${b.host}:${b.port}`)),
    };
  }
}
