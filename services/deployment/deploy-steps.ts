import { StepError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { StoredCertificate, Target } from '../../shared/model.ts';
import type { CertificateStore, Clock, DeploymentTarget, EventPublisher, KeyVault, TargetStore, TlsProbe } from '../../shared/ports.ts';

export interface DeploymentDeps {
  clock: Clock;
  certificates: CertificateStore;
  targets: TargetStore;
  publisher: EventPublisher;
  keyVault(): Promise<KeyVault>;
  /** The adapter that writes to a registered target. */
  targetAdapter(target: Target): DeploymentTarget;
  probe: TlsProbe;
  /** How often and how far apart verification handshakes are tried before giving up. */
  verifyAttempts: number;
  verifyDelayMs: number;
}

/** Who asked: a saga execution or a request; it names the history entry and the events' ids. */
export interface Attempt {
  id: string;
}

async function loadCertificate(id: string, deps: DeploymentDeps, step: string): Promise<StoredCertificate> {
  const cert = await deps.certificates.get(id);
  if (!cert) throw new StepError(step, `certificate ${id} is not in the inventory`);
  return cert;
}

async function loadTarget(name: string, deps: DeploymentDeps, step: string): Promise<Target> {
  const target = await deps.targets.get(name);
  if (!target) throw new StepError(step, `target ${name} is not registered`);
  return target;
}

async function emit(type: 'deployment.succeeded' | 'deployment.failed' | 'deployment.rolled_back', cert: StoredCertificate, fields: Record<string, unknown>, attempt: Attempt, deps: DeploymentDeps) {
  const id = `${attempt.id}:${type}:${String(fields.target)}`;
  await deps.publisher.publish([newEvent(type, { ...certificateFields(cert), ...fields }, { now: () => deps.clock.now(), newId: () => id, correlationId: attempt.id })]);
}

/** Puts the certificate with its key on the target. Idempotent: redeploying what is there changes nothing. */
export async function deployToTarget(certificateId: string, targetName: string, attempt: Attempt, deps: DeploymentDeps): Promise<void> {
  const cert = await loadCertificate(certificateId, deps, 'deploy');
  const target = await loadTarget(targetName, deps, 'deploy');
  try {
    if (!cert.keyRef) throw new StepError('deploy', `certificate ${cert.id} has no managed key to deploy`);
    const privateKeyPem = await (await deps.keyVault()).get(cert.keyRef);
    await deps.targetAdapter(target).deploy({ certificatePem: cert.certificatePem, chainPem: cert.chainPem, privateKeyPem });
  } catch (err) {
    const reason = (err as Error).message;
    await deps.certificates.addHistory(cert.id, { kind: 'deployment', attempt: attempt.id, target: targetName, outcome: 'failed', at: deps.clock.now().toISOString(), detail: reason });
    await emit('deployment.failed', cert, { target: targetName, targetType: target.type, reason }, attempt, deps);
    throw err instanceof StepError ? err : new StepError('deploy', `${targetName}: ${reason}`);
  }
}

/** Proves the target serves the certificate: a TLS handshake must show its fingerprint, retried with backoff up to a bound. */
export async function verifyTarget(certificateId: string, targetName: string, attempt: Attempt, deps: DeploymentDeps): Promise<{ verified: boolean }> {
  const cert = await loadCertificate(certificateId, deps, 'verify');
  const target = await loadTarget(targetName, deps, 'verify');
  if (!target.endpoint) {
    await recordSuccess(cert, target, attempt, deps, 'deployed (no endpoint to verify)');
    return { verified: false };
  }
  const [host, port] = splitEndpoint(target.endpoint);
  const serverName = String(target.serverName ?? cert.subjectAlternativeNames.find((n) => !/^[\d.:]+$/.test(n)) ?? cert.commonName ?? host);
  let last = '';
  for (let i = 0; i < deps.verifyAttempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, deps.verifyDelayMs * 2 ** (i - 1)));
    try {
      const served = await deps.probe(host, port, serverName);
      if (served.fingerprintSha256 === cert.fingerprintSha256) {
        await recordSuccess(cert, target, attempt, deps, `verified on ${target.endpoint}`);
        return { verified: true };
      }
      last = `${target.endpoint} serves ${served.fingerprintSha256}, not ${cert.fingerprintSha256}`;
    } catch (err) {
      last = `${target.endpoint}: ${(err as Error).message}`;
    }
  }
  await deps.certificates.addHistory(cert.id, { kind: 'deployment', attempt: attempt.id, target: targetName, outcome: 'failed', at: deps.clock.now().toISOString(), detail: last });
  await emit('deployment.failed', cert, { target: targetName, targetType: target.type, reason: last }, attempt, deps);
  throw new StepError('verify', `${targetName}: ${last}`);
}

async function recordSuccess(cert: StoredCertificate, target: Target, attempt: Attempt, deps: DeploymentDeps, detail: string) {
  await deps.certificates.addHistory(cert.id, { kind: 'deployment', attempt: attempt.id, target: target.name, outcome: 'succeeded', at: deps.clock.now().toISOString(), detail });
  await emit('deployment.succeeded', cert, { target: target.name, targetType: target.type, deploymentStatus: 'deployed' }, attempt, deps);
}

/** Puts back what each target served before `newCertificateId`; targets that never got it are left alone. */
export async function rollbackTargets(previousCertificateId: string, newCertificateId: string | undefined, targetNames: string[], attempt: Attempt, deps: DeploymentDeps): Promise<string[]> {
  if (!newCertificateId) return [];
  const successor = await loadCertificate(newCertificateId, deps, 'rollback');
  const previous = await loadCertificate(previousCertificateId, deps, 'rollback');
  const restored: string[] = [];
  for (const name of targetNames) {
    const target = await deps.targets.get(name);
    if (!target) continue;
    if (!(await deps.targetAdapter(target).rollback(successor.certificatePem))) continue;
    restored.push(name);
    await deps.certificates.addHistory(successor.id, { kind: 'deployment', attempt: attempt.id, target: name, outcome: 'rolled_back', at: deps.clock.now().toISOString() });
    await emit('deployment.rolled_back', successor, { target: name, restoredCertificateId: previous.id }, attempt, deps);
  }
  return restored;
}

function splitEndpoint(endpoint: string): [string, number] {
  const at = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, at).replace(/^\[|\]$/g, ''), Number(endpoint.slice(at + 1))];
}
