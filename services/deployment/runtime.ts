import { base, compose, once } from '../../adapters/composition/base.ts';
import { deploymentTargets } from '../../adapters/composition/deployment-targets.ts';
import { tlsChecks } from '../../adapters/composition/scanning.ts';
import { keyVaults } from '../../adapters/composition/key-vaults.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { failureCounter } from '../../adapters/metrics/embedded-metrics.ts';
import { DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';

/** What deployment's functions use: the inventory, the targets and their adapters, certificates' keys (never the CA's), locks. */
export const deploymentRuntime = once(() => {
  const b = base();
  return compose(compose(compose(b, deploymentTargets(b)), tlsChecks(b)), {
    certificates: new DynamoCertificateStore(b.table),
    requests: new DynamoRequestStore(b.table),
    locks: new DynamoLockStore(b.table, b.clock, b.config.ownersGoneBefore),
    keyVault: keyVaults(b).keyVault,
    /** On AWS, a failed deployment is counted in CloudWatch (the DeploymentFailed alarm). */
    countFailure: b.config.emitMetrics ? failureCounter((line) => process.stdout.write(`${line}\n`), b.clock, 'DeploymentFailed') : undefined,
  });
});
