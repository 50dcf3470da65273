import type { CertificateStore } from '../../shared/ports.ts';
import type { HistoryEntry, Page, StoredCertificate } from '../../shared/model.ts';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { getItem, putIfAbsent, queryAll, queryPage, setFields, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `CERT#${id}`, sk: 'CERT' });

/** Only certificates that can still need renewal or alerts sit in the (sparse) expiry index. */
function expiryKeys(c: Pick<StoredCertificate, 'status' | 'notAfter' | 'id'>) {
  return c.status === 'active' || c.status === 'discovered' ? { gsi2pk: 'EXPIRY', gsi2sk: `${c.notAfter}#${c.id}` } : undefined;
}

export class DynamoCertificateStore implements CertificateStore {
  constructor(private readonly table: Table) {}

  create(cert: StoredCertificate): Promise<boolean> {
    return putIfAbsent(this.table, { ...cert, ...key(cert.id), gsi1pk: 'CERTS', gsi1sk: `${cert.createdAt}#${cert.id}`, ...expiryKeys(cert) });
  }

  async get(id: string): Promise<StoredCertificate | undefined> {
    const item = await getItem(this.table, key(id));
    return item && withoutKeys<StoredCertificate>(item);
  }

  async update(id: string, fields: Partial<StoredCertificate>): Promise<void> {
    if (!fields.status) return setFields(this.table, key(id), fields);
    const current = await this.get(id);
    if (!current) return;
    const index = expiryKeys({ ...current, ...fields });
    await setFields(this.table, key(id), { ...fields, ...index }, index ? [] : ['gsi2pk', 'gsi2sk']);
  }

  async list(limit: number, nextToken?: string): Promise<Page<StoredCertificate>> {
    const page = await queryPage(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'CERTS', limit, nextToken, newestFirst: true });
    return { items: page.items.map((i) => withoutKeys<StoredCertificate>(i)), nextToken: page.nextToken };
  }

  async addHistory(id: string, entry: HistoryEntry): Promise<void> {
    const sk = `HIST#${entry.attempt}#${entry.kind}#${entry.target ?? ''}#${entry.outcome}`;
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...entry, pk: `CERT#${id}`, sk } }));
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const items = await queryAll(this.table, { pkName: 'pk', pk: `CERT#${id}`, skPrefix: 'HIST#' });
    return items.map((i) => withoutKeys<HistoryEntry>(i)).sort((a, b) => a.at.localeCompare(b.at));
  }

  async expiringBefore(before: Date, limit: number, nextToken?: string) {
    const page = await queryPage(this.table, { index: 'expiry', pkName: 'gsi2pk', pk: 'EXPIRY', skBefore: before.toISOString(), limit, nextToken });
    return { items: page.items.map((i) => withoutKeys<StoredCertificate>(i)), nextToken: page.nextToken, itemsRead: page.itemsRead };
  }
}
