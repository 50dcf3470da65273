import { base, compose, once } from '../../adapters/composition/base.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoCtStateStore } from '../../adapters/dynamodb/ct-state-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';

/** What ct-monitor's functions use: the logs' state and findings, the inventory (certops' own certificates are no finding), and locks (one poll of a log at a time). */
export const ctMonitorRuntime = once(() => {
  const b = base();
  return compose(b, { ct: new DynamoCtStateStore(b.table), certificates: new DynamoCertificateStore(b.table), locks: new DynamoLockStore(b.table, b.clock, b.ownersGoneBefore) });
});
