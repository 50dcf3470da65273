import { compose, once } from './composition/base.ts';
import { DynamoDeadLetterStore } from './dynamodb/dead-letter-store.ts';
import { ctMonitorRuntime } from '../services/ct-monitor/runtime.ts';
import { deploymentRuntime } from '../services/deployment/runtime.ts';
import { inventoryRuntime } from '../services/inventory/runtime.ts';
import { issuanceRuntime } from '../services/issuance/runtime.ts';
import { renewalRuntime } from '../services/renewal/runtime.ts';
import { siemExportRuntime } from '../services/siem-export/runtime.ts';

/**
 * The whole suite's composition, for what the local stack does itself (at its start: recoveries,
 * the CA's root copied out, locks freed; the bus's dead letters) and for tests: every service's
 * composition in one. Lambda bundles never import it: each function composes its own service's
 * (services/<name>/runtime.ts).
 */
export const runtime = once(() => {
  const services = [inventoryRuntime(), issuanceRuntime(), deploymentRuntime(), renewalRuntime(), ctMonitorRuntime(), siemExportRuntime()];
  const suite = services.reduce<object>((all, service) => compose(all, service), {}) as ReturnType<typeof inventoryRuntime> & ReturnType<typeof issuanceRuntime> & ReturnType<typeof deploymentRuntime> & ReturnType<typeof renewalRuntime> & ReturnType<typeof ctMonitorRuntime> & ReturnType<typeof siemExportRuntime>;
  // The local bus's dead letters: on AWS they are the consumers' dead-letter queues.
  return compose(suite, { deadLetters: new DynamoDeadLetterStore(suite.table) });
});

export type Runtime = ReturnType<typeof runtime>;
