import { lambda } from '../../adapters/lambda.ts';
import { recoverStaleAnnouncements } from '../../shared/announce.ts';
import { RENEWAL, renewalProofs } from './announcements.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { renewalRuntime } from './runtime.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { abandon, abort, commit, lock, renew } from './saga-steps.ts';
import { holdingCertificateLock } from '../../shared/certificate-lock.ts';
import { parseSagaState } from '../../shared/saga-state.ts';
import { adopt } from './adopt.ts';
import { sweepExpiring } from './sweep.ts';
import { logger } from '../../adapters/logger.ts';
import { renewOnApproval, startRenewal } from './start-renewal.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { daysToExpiryRecorder, failureCounter } from '../../adapters/metrics/embedded-metrics.ts';
import { object, string, strings } from '../../shared/api-schemas.ts';

const rt = renewalRuntime;

/** request.approved: a renewal that needed an approval starts once an approver says yes. */
export const approvals = eventHandler(async (event) => {
  await renewOnApproval(String(event.detail.requestId), rt());
});

/** An ACME CA's certificates are followed this far ahead for ACME Renewal Information: a 90-day certificate's whole life. */
const ARI_HORIZON_DAYS = 100;

/** Scheduled: expiry alerts, DaysToExpiry metrics, and a saga for every certificate whose renewal window has opened (or whose CA says it is time). */
export const sweep = lambda(async () => {
  const metrics = rt().config.emitMetrics ? daysToExpiryRecorder((line) => process.stdout.write(`${line}\n`), rt().clock) : undefined;
  const acmeIssuers = new Set(Object.entries(rt().suite.issuers).filter(([, backend]) => backend.type === 'acme').map(([name]) => name));
  const started = Date.now();
  const ari = acmeIssuers.size ? {
    horizonDays: ARI_HORIZON_DAYS,
    // Of the function's 300 s, at most two minutes go to asking CAs.
    budgetMs: 120_000,
    elapsedMs: () => Date.now() - started,
    random: Math.random,
    ask: async (cert: { issuerBackend?: string; certificatePem: string }) => (cert.issuerBackend && acmeIssuers.has(cert.issuerBackend) ? (await rt().authority(cert.issuerBackend)).suggestedWindow?.(cert.certificatePem) : undefined),
    warn: (cert: { id: string }, err: Error) => logger.warn('renewal information unavailable: the default window applies', { certificateId: cert.id, error: err.message }),
  } : undefined;
  return sweepExpiring({ ...rt(), signing: { policy: rt().policy, ownership: rt().ownership }, recordDaysToExpiry: metrics, ari }, rt().config.renewalWindow);
});

export const api = apiHandler({
  'POST /certificates/{id}/renew': {
    doc: {
      summary: 'Starts the renew-then-deploy saga for an active certificate certops issued or adopted',
      responses: { 202: object(['certificateId', 'executionName'], { certificateId: string, executionName: string }) },
    },
    role: 'requester',
    async run(req) {
      const cert = await rt().certificates.get(req.params.id);
      if (!cert) throw new NotFoundError(`no certificate ${req.params.id}`, 'id');
      // A renewal writes new keys onto the certificate's targets: the one who asked for it, or an admin.
      if (req.caller.role !== 'admin') {
        const requestedBy = cert.requestId ? (await rt().requests.get(cert.requestId))?.requestedBy : undefined;
        if (requestedBy !== req.caller.name) throw new ForbiddenError(`${req.caller.name} may not renew ${cert.id}: only ${requestedBy ?? 'an admin'}${requestedBy ? ', who asked for it, or an admin' : ''} may`, 'id');
      }
      if (!cert.issuerBackend || cert.status !== 'active') throw new ConflictError(`certificate ${cert.id} is ${cert.status} (${cert.source}); only active certificates certops issued or adopted are renewed (certops adopt)`, 'id');
      const name = await startRenewal(cert, 'manual', req.caller.name, rt().newId(), rt());
      return { status: 202, body: { certificateId: cert.id, executionName: name } };
    },
  },
  'POST /certificates/{id}/adopt': {
    doc: {
      summary: 'Adopts a discovered certificate: certops renews it from now on, through the issuer and to the targets named',
      body: object([], { issuer: string, targets: strings }),
      responses: { 200: { type: 'object', description: 'what adopting did' } },
    },
    role: 'admin',
    run: async (req) => ({ status: 200, body: await adopt(req.params.id, req.body, req.caller.name, rt()) }),
  },
}, rt);

/** The renewal saga's own tasks; `saga` is the state machine's state. */
const stepDeps = () => ({ ...rt(), countFailure: rt().config.emitMetrics ? failureCounter((line) => process.stdout.write(`${line}\n`), rt().clock, 'RenewalFailed') : undefined });

export const step = lambda(async (input: { action: string; saga: unknown }) => {
  const state = parseSagaState(input.saga);
  const holding = <T>(work: () => Promise<T>) => holdingCertificateLock(rt().locks, rt().clock, state.certificateId, state.executionName, input.action, work);
  switch (input.action) {
    case 'lock':
      return lock(state, stepDeps());
    case 'renew':
      return holding(() => renew(state, stepDeps()));
    case 'commit':
      return holding(() => commit(state, stepDeps()));
    case 'abort':
      return abort(state, stepDeps());
    case 'abandon':
      return abandon(state, stepDeps());
    default:
      throw new ValidationError(`unknown renewal step ${input.action}`, 'action');
  }
});

/** Scheduled: what a dead invocation changed and did not announce is announced. */
export const recover = lambda(async () => recoverStaleAnnouncements(RENEWAL, renewalProofs, rt()));
