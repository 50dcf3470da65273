import { base, compose, once } from '../../adapters/composition/base.ts';
import { siemSenders } from '../../adapters/composition/siem-senders.ts';
import { DynamoAuditTrail } from '../../adapters/dynamodb/audit-trail.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoSiemOutbox } from '../../adapters/dynamodb/siem-outbox.ts';

/** What siem-export's functions use: the audit trail, the sinks' outboxes, their senders, the flush leases. */
export const siemExportRuntime = once(() => {
  const b = base();
  return compose(compose(b, siemSenders(b)), {
    audit: new DynamoAuditTrail(b.table),
    outbox: new DynamoSiemOutbox(b.table, () => b.suite.siemSinks.map((s) => s.name)),
    locks: new DynamoLockStore(b.table, b.clock, b.config.ownersGoneBefore),
  });
});
