import type { Runtime } from '../adapters/runtime.ts';
import { recoverAnnouncements, type Proofs } from '../shared/announce.ts';
import { runAsFunction } from '../adapters/aws/call-recorder.ts';
import { ISSUANCE } from '../services/issuance/announcements.ts';
import { issuanceProofs } from '../services/issuance/proofs.ts';
import { INVENTORY, inventoryProofs } from '../services/inventory/announcements.ts';
import { DEPLOYMENT, deploymentProofs } from '../services/deployment/announcements.ts';
import { CT_MONITOR, ctProofs } from '../services/ct-monitor/announcements.ts';
import { RENEWAL, renewalProofs } from '../services/renewal/announcements.ts';

/** Each service's partition of the announcement ledger, the proofs its own stores answer, and the function that recovers it on AWS. */
const ANNOUNCERS: [string, Proofs<Runtime>, string][] = [
  [ISSUANCE, issuanceProofs, 'issuanceRecover'],
  [INVENTORY, inventoryProofs, 'inventoryRecover'],
  [DEPLOYMENT, deploymentProofs, 'deploymentRecover'],
  [CT_MONITOR, ctProofs, 'ctMonitorRecover'],
  [RENEWAL, renewalProofs, 'renewalRecover'],
];

/**
 * At a start: every service's intents the process before this one left (dated before this
 * start), announced or dropped. Intents that must wait (a CA that is down) are retried by each
 * service's schedule.
 * @returns the ids announced, and those waiting with why.
 */
export async function recoverAllAnnouncements(rt: Runtime): Promise<{ announced: string[]; waiting: string[] }> {
  const before = rt.ownersGoneBefore ?? rt.clock.now();
  const out = { announced: [] as string[], waiting: [] as string[] };
  for (const [service, proofs, fn] of ANNOUNCERS) {
    // Its calls are that function's, as far as IAM is concerned.
    const recovered = await runAsFunction(fn, () => recoverAnnouncements(service, proofs, before, rt));
    out.announced.push(...recovered.announced);
    out.waiting.push(...recovered.waiting);
  }
  return out;
}
