import type { RevocationStore } from '../../shared/ports.ts';
import type { RevokedEntry } from '../../shared/x509/crl-builder.ts';
import { putIfAbsent, queryAll, type Table } from './table.ts';

export class DynamoRevocationStore implements RevocationStore {
  constructor(private readonly table: Table) {}

  async add(caId: string, entry: RevokedEntry): Promise<void> {
    await putIfAbsent(this.table, { pk: `REVOKED#${caId}`, sk: entry.serialNumber, serialNumber: entry.serialNumber, reason: entry.reason, revokedAt: entry.revokedAt.toISOString() });
  }

  async list(caId: string): Promise<RevokedEntry[]> {
    const items = await queryAll(this.table, { pkName: 'pk', pk: `REVOKED#${caId}` });
    return items.map((i) => ({ serialNumber: String(i.serialNumber), reason: i.reason as RevokedEntry['reason'], revokedAt: new Date(String(i.revokedAt)) }));
  }
}
