import type { RevocationStore } from '../../shared/ports.ts';
import type { RevokedEntry } from '../../shared/x509/crl-builder.ts';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent, queryAll, type Table } from './table.ts';

export class DynamoRevocationStore implements RevocationStore {
  constructor(private readonly table: Table) {}

  /** The first record stays, but for its reason, which keyCompromise replaces (RFC 5280 5.3.1). */
  async add(caId: string, entry: RevokedEntry): Promise<void> {
    const item = { pk: `REVOKED#${caId}`, sk: entry.serialNumber, serialNumber: entry.serialNumber, reason: entry.reason, revokedAt: entry.revokedAt.toISOString() };
    if ((await putIfAbsent(this.table, item)) || entry.reason !== 'keyCompromise') return;
    await this.table.doc.send(new UpdateCommand({ TableName: this.table.name, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: 'SET reason = :r', ExpressionAttributeValues: { ':r': 'keyCompromise' } }));
  }

  async list(caId: string): Promise<RevokedEntry[]> {
    const items = await queryAll(this.table, { pkName: 'pk', pk: `REVOKED#${caId}` });
    return items.map((i) => ({ serialNumber: String(i.serialNumber), reason: i.reason as RevokedEntry['reason'], revokedAt: new Date(String(i.revokedAt)) }));
  }
}
