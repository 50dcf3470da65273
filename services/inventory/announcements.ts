import type { Proofs } from '../../shared/announce.ts';
import type { ConfigStore, ScanStore, TokenStore } from '../../shared/ports.ts';

/** The inventory service's partition of the announcement ledger. */
export const INVENTORY = 'inventory';

/** Whether what an inventory intent announces is in the store: each change records the event's time. */
export const inventoryProofs: Proofs<{ tokens: TokenStore; configurations: ConfigStore; scans: ScanStore }> = {
  'token.created': async (e, deps) => (await deps.tokens.get(String(e.detail.tokenId)))?.createdAt === e.detail.occurredAt,
  'token.revoked': async (e, deps) => (await deps.tokens.get(String(e.detail.tokenId)))?.revokedAt === e.detail.occurredAt,
  // Only the configuration in force is kept: one replaced before the recovery ran is named only by its successor's previousHash.
  'config.changed': async (e, deps) => {
    const latest = await deps.configurations.latest();
    return latest !== undefined && latest.hash === e.detail.hash && latest.changedAt === e.detail.occurredAt;
  },
  'scan.requested': async (e, deps) => (await deps.scans.get(String(e.detail.scanId)))?.scan.startedAt === e.detail.occurredAt,
};
