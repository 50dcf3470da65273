import { base, compose, once } from '../../adapters/composition/base.ts';
import { authorities } from '../../adapters/composition/authorities.ts';
import { DynamoAcmeChallengeAnswers } from '../../adapters/dynamodb/acme-challenge-answers.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoRequestLeases } from '../../adapters/dynamodb/request-store.ts';
import { DynamoTargetStore } from '../../adapters/dynamodb/target-store.ts';

/** What issuance's functions use: requests and their leases, the CA backends behind the policy gate, the inventory. */
export const issuanceRuntime = once(() => {
  const b = base();
  return compose(compose(b, authorities(b)), {
    certificates: new DynamoCertificateStore(b.table),
    requestLeases: new DynamoRequestLeases(b.table, b.clock, b.config.ownersGoneBefore),
    targets: new DynamoTargetStore(b.table),
    locks: new DynamoLockStore(b.table, b.clock, b.config.ownersGoneBefore),
    acmeAnswers: new DynamoAcmeChallengeAnswers(b.table),
  });
});
