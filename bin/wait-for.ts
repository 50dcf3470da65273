import { CliError, call, type ClientOptions } from './api-client.ts';

/** A step as `--wait` reports it: one line a person reads as it happens. */
export interface Step {
  at: string;
  step: string;
}

interface History {
  kind: 'deployment' | 'renewal';
  attempt: string;
  target?: string;
  outcome: string;
  at: string;
  detail?: string;
}

const POLL_MS = 500;

const entryStep = (h: History): Step => ({ at: h.at, step: `${h.kind === 'renewal' ? 'renewal' : `deployment to ${h.target}`} ${h.outcome}${h.detail ? `: ${h.detail}` : ''}` });

/** Reports each step once, in the order seen. */
function stepLog(onStep: (s: Step) => void) {
  const seen = new Set<string>();
  const steps: Step[] = [];
  return {
    steps,
    add(key: string, step: Step) {
      if (seen.has(key)) return;
      seen.add(key);
      steps.push(step);
      onStep(step);
    },
  };
}

async function until<T>(timeoutSeconds: number, what: string, whereToLook: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const done = await probe();
    if (done !== undefined) return done;
    if (Date.now() > deadline) throw new CliError(`still ${what} after ${timeoutSeconds} s: it goes on in the suite (${whereToLook} shows where it is); --timeout waits longer`, 1);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const certificate = async (client: ClientOptions, id: string) => (await call(client, 'GET', `/certificates/${encodeURIComponent(id)}`)).body;

/**
 * Follows a renewal saga (renew, deploy, verify, commit or roll back) through the certificate's
 * history and its successor's: each step is reported once as it is recorded, until the renewal
 * succeeded or failed. Throws CliError after `timeoutSeconds`.
 */
export async function followRenewal(client: ClientOptions, certificateId: string, executionName: string, timeoutSeconds: number, onStep: (s: Step) => void) {
  const log = stepLog(onStep);
  const ours = (h: History) => h.attempt === executionName;
  return until(timeoutSeconds, `renewing ${certificateId}`, `certops show ${certificateId}`, async () => {
    const old = await certificate(client, certificateId);
    const successorId: string | undefined = old.pendingRenewal?.executionName === executionName ? old.pendingRenewal.newCertificateId : old.supersededBy;
    const successor = successorId ? await certificate(client, successorId) : undefined;
    const entries = [...old.history, ...(successor?.history ?? [])].filter(ours).sort((a: History, b: History) => a.at.localeCompare(b.at));
    const key = (h: History) => `${h.kind}/${h.target ?? ''}/${h.outcome}`;
    const [started, rest] = [entries.filter((h: History) => h.outcome === 'started'), entries.filter((h: History) => h.outcome !== 'started')];
    for (const h of started) log.add(key(h), entryStep(h));
    if (successor) log.add('issued', { at: successor.createdAt, step: `issued the successor ${successor.id} (valid to ${successor.notAfter})` });
    for (const h of rest) log.add(key(h), entryStep(h));
    const end = entries.find((h: History) => h.kind === 'renewal' && (h.outcome === 'succeeded' || h.outcome === 'failed'));
    return end && { certificateId, executionName, outcome: end.outcome as 'succeeded' | 'failed', successorId: end.outcome === 'succeeded' ? successorId : undefined, steps: log.steps };
  });
}

/**
 * Follows a certificate request until it is decided (issued or rejected) and, once issued, until
 * every target it names reports a deployment. Throws CliError after `timeoutSeconds`.
 */
export async function followRequest(client: ClientOptions, requestId: string, timeoutSeconds: number, onStep: (s: Step) => void) {
  const log = stepLog(onStep);
  return until(timeoutSeconds, `waiting on request ${requestId}`, 'certops requests list', async () => {
    const request = (await call(client, 'GET', `/requests/${encodeURIComponent(requestId)}`)).body;
    if (request.status !== 'issued' || request.decidedBy) log.add(`status/${request.status}`, { at: request.decidedAt ?? request.createdAt, step: `request ${request.status.replace('_', ' ')}${request.decidedBy ? ` by ${request.decidedBy}` : ''}` });
    if (request.status === 'rejected') return { requestId, outcome: 'rejected' as const, steps: log.steps };
    if (request.status !== 'issued' || !request.certificateId) return undefined;
    const cert = await certificate(client, request.certificateId);
    log.add('issued', { at: cert.createdAt, step: `issued ${cert.id} (valid to ${cert.notAfter})` });
    const deployments = (cert.history as History[]).filter((h) => h.kind === 'deployment' && h.outcome !== 'started').sort((a, b) => a.at.localeCompare(b.at));
    for (const h of deployments) log.add(`${h.target}/${h.outcome}/${h.attempt}`, entryStep(h));
    // Each target's last word counts: a deployment that failed and then succeeded is deployed.
    const last = new Map(deployments.map((h) => [h.target, h.outcome]));
    if ((cert.targets as string[]).some((t) => !last.has(t))) return undefined;
    const failed = (cert.targets as string[]).some((t) => last.get(t) !== 'succeeded');
    return { requestId, certificateId: cert.id as string, outcome: failed ? ('deployment_failed' as const) : ('issued' as const), steps: log.steps };
  });
}
