import { lambda } from '../../adapters/lambda.ts';
import { recoverStaleAnnouncements } from '../../shared/announce.ts';
import { DEPLOYMENT, deploymentProofs } from './announcements.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { deploymentRuntime } from './runtime.ts';
import { ConflictError, StepError, ValidationError } from '../../shared/errors.ts';
import { certificateLock, holdingCertificateLock } from '../../shared/certificate-lock.ts';
import { withLease } from '../../shared/lease.ts';
import { asObject, oneOf, requiredString, stringList } from '../../shared/input.ts';
import { parseSagaState } from '../../shared/saga-state.ts';
import { deployToTarget, rollbackTargets, verifyTarget } from './deploy-steps.ts';
import { parseTarget } from './target-input.ts';
import { registerTarget } from './register-target.ts';
import { removeTarget } from './remove-target.ts';
import { attachTargets } from './attach-targets.ts';
import { targetsFor } from '../../shared/deployment-rules.ts';
import { targetRefusal } from '../../shared/target-access.ts';
import { logger } from '../../adapters/logger.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { itemsOf, object, ref, string, strings } from '../../shared/api-schemas.ts';

const rt = deploymentRuntime;

async function deployAndVerify(certificateId: string, targets: string[], attemptId: string) {
  const results = [];
  for (const target of targets) {
    await deployToTarget(certificateId, target, { id: attemptId }, rt());
    results.push({ target, ...(await verifyTarget(certificateId, target, { id: attemptId }, rt())) });
  }
  return results;
}

export const api = apiHandler({
  'POST /targets': {
    doc: {
      summary: 'Registers a deployment target',
      body: object(['name', 'type'], {
        name: string, type: { enum: ['filesystem', 'webhook', 'acm', 'secretsmanager'] }, directory: string, reloadCommand: string, url: string,
        endpoint: { ...string, description: 'host:port where the deployed certificate is checked as served' }, serverName: string, caCertificatePem: string, secretEnv: string,
      }),
      responses: { 201: ref('Target') },
    },
    role: 'admin',
    run: async (req) => ({ status: 201, body: await registerTarget(parseTarget(req.body, rt().deploymentRoots), req.caller, rt()) }),
  },
  'GET /targets': {
    doc: { summary: 'Lists deployment targets', responses: { 200: itemsOf(ref('Target')) } }, role: 'viewer', run: async () => ({ status: 200, body: { items: await rt().targets.list() } }) },
  'DELETE /targets/{name}': {
    doc: {
      summary: 'Removes a target (certificates stop being deployed there); dryRun says which certificates name it',
      query: { dryRun: { enum: ['true', 'false'], description: 'true: change nothing' } },
      responses: { 200: { type: 'object' } },
    },
    role: 'admin',
    run: async (req) => ({ status: 200, body: await removeTarget(req.params.name, oneOf(req.query, 'dryRun', ['true', 'false'], 'false') === 'true', req.caller.name, rt()) }),
  },
  'POST /certificates/{id}/targets': {
    doc: {
      summary: 'Attaches targets to a certificate and deploys it there, checking it is served',
      body: object(['targets'], { targets: strings }),
      responses: { 200: object(['certificateId', 'targets', 'deployments'], { certificateId: string, targets: strings, deployments: { type: 'array' } }) },
    },
    role: 'admin',
    async run(req) {
      const names = stringList(asObject(req.body), 'targets');
      const { cert, targets } = await attachTargets(req.params.id, names, req.caller.name, rt());
      try {
        const deployments = await deployAndVerify(cert.id, names, `attach-${rt().newId()}`);
        return { status: 200, body: { certificateId: cert.id, targets, deployments } };
      } catch (err) {
        // The target stays attached (a renewal will deploy there); this deployment did not happen.
        if (err instanceof StepError) throw new ConflictError(`the deployment failed: ${err.message}`, 'targets');
        throw err;
      }
    },
  },
}, rt);

/**
 * The targets the certificate's requester may deploy to: a deployment rule acts on the
 * requester's behalf, so a target that would refuse them in a request is skipped here too.
 */
async function permittedTargets(cert: StoredCertificate, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const request = cert.requestId ? await rt().requests.get(cert.requestId) : undefined;
  const requester = { name: request?.requestedBy ?? '', role: request?.requestedByRole ?? ('viewer' as const) };
  const permitted: string[] = [];
  for (const name of names) {
    const target = await rt().targets.get(name);
    const refusal = target ? targetRefusal(target, requester, cert.environment) : `target ${name} is not registered`;
    if (refusal) logger.warn('deployment skipped', { certificateId: cert.id, target: name, reason: refusal });
    else permitted.push(name);
  }
  return permitted;
}

/**
 * certificate.issued (not a renewal's: the saga deploys those). The event only says which
 * certificate: whether it is deployed, where, and with which key is what the inventory holds for
 * it (issued by a request, still active, its targets and deployment rules). A replayed event
 * deploys the same thing again, which changes nothing.
 */
export const events = eventHandler(async (event) => {
  const current = () => rt().certificates.get(String(event.detail.certificateId));
  const cert = await current();
  // A renewal under way (pendingRenewal) deploys the successor itself: a late or replayed delivery of
  // this certificate's issuance must not put the old one back over it.
  if (!cert || cert.source !== 'issued' || cert.renewalOf || cert.status !== 'active' || cert.pendingRenewal) return;
  const targets = await permittedTargets(cert, targetsFor(cert, rt().suite.deploymentRules));
  if (targets.length === 0) return;
  if (targets.length !== cert.targets.length) await rt().certificates.replaceTargets(cert.id, cert.targets, targets);
  const attempt = `issue-${cert.id}`;
  // A renewal under way deploys the successor itself; putting this one back meanwhile would undo it.
  await withLease(rt().locks, rt().clock, certificateLock(cert.id), attempt, async () => {
    const now = await current();
    if (now?.status === 'active' && !now.pendingRenewal) await deployAndVerify(cert.id, targets, attempt);
  });
});

/**
 * The renewal saga's deployment tasks: deploy and verify one target, or roll back all of them.
 * The certificate to deploy is the successor the inventory records for this execution (the
 * saga's own stored record), never one named in the step's input.
 */
export const step = lambda(async (input: { action: string; target?: string; saga: Record<string, unknown> }) => {
  const saga = parseSagaState(input.saga);
  const attempt = { id: saga.executionName };
  const old = await rt().certificates.get(saga.certificateId);
  const newId = old?.pendingRenewal?.executionName === saga.executionName ? old.pendingRenewal.newCertificateId : undefined;
  switch (input.action) {
    case 'deploy':
    case 'verify': {
      if (!newId) throw new StepError(input.action, `the inventory records no successor of ${saga.certificateId} made by ${saga.executionName}`);
      const target = requiredString(input as Record<string, unknown>, 'target', 64);
      return holdingCertificateLock(rt().locks, rt().clock, saga.certificateId, saga.executionName, input.action, async () => {
        if (input.action === 'deploy') {
          await deployToTarget(newId, target, attempt, rt());
          return { target, deployed: true };
        }
        return { target, ...(await verifyTarget(newId, target, attempt, rt())) };
      });
    }
    case 'rollback':
      return { restored: await rollbackTargets(saga.certificateId, newId, old?.targets ?? [], attempt, rt()) };
    default:
      throw new ValidationError(`unknown deployment step ${input.action}`, 'action');
  }
});

/** Scheduled: what a dead invocation changed and did not announce is announced. */
export const recover = lambda(async () => recoverStaleAnnouncements(DEPLOYMENT, deploymentProofs, rt()));
