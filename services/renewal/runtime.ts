import { base, compose, once } from '../../adapters/composition/base.ts';
import { authorities } from '../../adapters/composition/authorities.ts';
import { StepFunctionsSagaStarter } from '../../adapters/aws/step-functions-saga-starter.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoTargetStore } from '../../adapters/dynamodb/target-store.ts';

/** What renewal's functions use: the inventory, the CA backends (the saga's renew step issues the successor), locks, the state machine. */
export const renewalRuntime = once(() => {
  const b = base();
  return compose(compose(b, authorities(b)), {
    certificates: new DynamoCertificateStore(b.table),
    targets: new DynamoTargetStore(b.table),
    locks: new DynamoLockStore(b.table, b.clock, b.config.ownersGoneBefore),
    saga: new StepFunctionsSagaStarter(b.config.stateMachineArn, b.awsConfig),
  });
});
