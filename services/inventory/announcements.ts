import type { Proofs } from '../../shared/announce.ts';
import type { ConfigChangeStore, ConfigStore, ScanStore, TokenStore } from '../../shared/ports.ts';

/** The inventory service's partition of the announcement ledger. */
export const INVENTORY = 'inventory';

/** Whether what an inventory intent announces is in the store: each change records the event's time. */
export const inventoryProofs: Proofs<{ tokens: TokenStore; configurations: ConfigStore; configChanges: ConfigChangeStore; scans: ScanStore }> = {
  'token.created': async (e, deps) => (await deps.tokens.get(String(e.detail.tokenId)))?.createdAt === e.detail.occurredAt,
  'token.revoked': async (e, deps) => (await deps.tokens.get(String(e.detail.tokenId)))?.revokedAt === e.detail.occurredAt,
  // Every version is kept; the one in force may not have its version item yet (a crash between the two writes).
  'config.changed': async (e, deps) => {
    const version = Number(e.detail.version);
    const latest = await deps.configurations.latest();
    const recorded = latest?.version === version ? latest : await deps.configurations.version(version);
    return recorded !== undefined && recorded.hash === e.detail.hash && recorded.changedAt === e.detail.occurredAt;
  },
  'config.change_proposed': async (e, deps) => (await deps.configChanges.get(String(e.detail.changeId)))?.proposedAt === e.detail.occurredAt,
  'config.change_rejected': async (e, deps) => {
    const change = await deps.configChanges.get(String(e.detail.changeId));
    return change?.status === 'rejected' && change.decidedAt === e.detail.occurredAt;
  },
  'scan.requested': async (e, deps) => (await deps.scans.get(String(e.detail.scanId)))?.startedAt === e.detail.occurredAt,
};
