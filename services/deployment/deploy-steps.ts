import { StepError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import { fingerprintSha256 } from '../../shared/x509/certificate-record.ts';
import type { StoredCertificate, Target } from '../../shared/model.ts';
import type { CertificateBundle, CertificateStore, Clock, DeploymentTarget, EventPublisher, KeyVault, TargetStore, TlsScanner } from '../../shared/ports.ts';
import { validateChain } from '../../shared/x509/chain-validation.ts';
import { certificateKeyRef } from '../../shared/certificate-key-vault.ts';
import { environmentRefusal } from '../../shared/target-access.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';

export interface DeploymentDeps {
  clock: Clock;
  certificates: CertificateStore;
  targets: TargetStore;
  publisher: EventPublisher;
  keyVault(): Promise<KeyVault>;
  /** The adapter that writes to a registered target. */
  targetAdapter(target: Target): DeploymentTarget;
  scanner: TlsScanner;
  trustedRoots(): Promise<ParsedCertificate[]>;
  /** Counts a failed deployment for the alarms (CloudWatch on AWS). */
  countFailure?(certificateId: string): void;
  /** How often and how far apart verification handshakes are tried before giving up. */
  verifyAttempts: number;
  verifyDelayMs: number;
}

/** What a failed deployment's history says when it never touched the target (a rollback leaves such a target alone). */
const NOTHING_DEPLOYED = 'nothing was deployed';

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

/** The name a target serves the certificate under: its configured serverName, else the certificate's first DNS name. */
function serverNameOf(target: Target, cert: StoredCertificate): string | undefined {
  return (target.serverName as string | undefined) ?? cert.subjectAlternativeNames.find((n) => !/^[\d.:]+$/.test(n) && !n.startsWith('*.')) ?? cert.commonName;
}

/** The check deployment runs before touching a target: a complete chain to a trusted root, valid now, for TLS servers, for the name served. */
async function chainProblems(cert: StoredCertificate, target: Target, deps: DeploymentDeps): Promise<string[]> {
  const [leaf, ...intermediates] = certificateBlocks(cert.certificatePem + cert.chainPem, 'certificate').map((der) => parseCertificate(der));
  const verdict = validateChain({ leaf, intermediates, roots: await deps.trustedRoots(), at: deps.clock.now(), host: target.serverName as string | undefined, purpose: cert.profile === 'tls-client' ? 'clientAuth' : 'serverAuth' });
  return verdict.reasons;
}

async function failed(cert: StoredCertificate, target: Target, step: 'deploy' | 'verify', reason: string, attempt: Attempt, deps: DeploymentDeps): Promise<never> {
  await deps.certificates.addHistory(cert.id, { kind: 'deployment', attempt: attempt.id, target: target.name, outcome: 'failed', at: deps.clock.now().toISOString(), detail: `${step}: ${reason}` });
  await emit('deployment.failed', cert, { target: target.name, targetType: target.type, reason: `${step}: ${reason}` }, attempt, deps);
  deps.countFailure?.(cert.id);
  throw new StepError(step, `${target.name}: ${reason}`);
}

/** Puts the certificate with its key on the target. Idempotent: redeploying what is there changes nothing. An invalid chain is never deployed. */
export async function deployToTarget(certificateId: string, targetName: string, attempt: Attempt, deps: DeploymentDeps): Promise<void> {
  const cert = await loadCertificate(certificateId, deps, 'deploy');
  const target = await loadTarget(targetName, deps, 'deploy');
  // A certificate revoked, replaced or expired meanwhile is never put on a target.
  if (cert.status !== 'active' && cert.status !== 'discovered') return failed(cert, target, 'deploy', `certificate ${cert.id} is ${cert.status}, so ${NOTHING_DEPLOYED}`, attempt, deps);
  const refused = environmentRefusal(target, cert.environment);
  if (refused) return failed(cert, target, 'deploy', `${refused}, so ${NOTHING_DEPLOYED}`, attempt, deps);
  const problems = await chainProblems(cert, target, deps);
  if (problems.length) return failed(cert, target, 'deploy', `the chain does not validate, so ${NOTHING_DEPLOYED}: ${problems.join('; ')}`, attempt, deps);
  try {
    if (cert.keyRef !== certificateKeyRef(cert.id)) throw new StepError('deploy', `certificate ${cert.id} has no managed key to deploy`);
    const privateKeyPem = await (await deps.keyVault()).get(cert.keyRef);
    await deps.targetAdapter(target).deploy({ certificatePem: cert.certificatePem, chainPem: cert.chainPem, privateKeyPem });
  } catch (err) {
    return failed(cert, target, 'deploy', (err as Error).message.replace(/^deploy: /, ''), attempt, deps);
  }
}

/**
 * Proves the target serves the certificate: a TLS handshake must show its fingerprint, a complete
 * chain and the name, retried with backoff up to a bound (servers take a moment to reload).
 */
export async function verifyTarget(certificateId: string, targetName: string, attempt: Attempt, deps: DeploymentDeps): Promise<{ verified: boolean }> {
  const cert = await loadCertificate(certificateId, deps, 'verify');
  const target = await loadTarget(targetName, deps, 'verify');
  if (!target.endpoint) {
    await recordSuccess(cert, target, attempt, deps, 'deployed (no endpoint to verify)');
    return { verified: false };
  }
  const problem = await servedProblem(cert, target, deps);
  if (problem) return failed(cert, target, 'verify', problem, attempt, deps);
  await recordSuccess(cert, target, attempt, deps, `verified on ${target.endpoint}`);
  return { verified: true };
}

/** What is wrong with what the target's endpoint serves, compared with `cert`; undefined once it is right. */
async function servedProblem(cert: StoredCertificate, target: Target, deps: DeploymentDeps): Promise<string | undefined> {
  const [host, port] = splitEndpoint(String(target.endpoint));
  const serverName = serverNameOf(target, cert);
  let last = '';
  for (let i = 0; i < deps.verifyAttempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, deps.verifyDelayMs * 2 ** (i - 1)));
    try {
      const served = await deps.scanner(host, port, { serverName, timeoutMs: 5000 });
      const [leaf, ...rest] = served.chain.map((d) => parseCertificate(d));
      if (!leaf) {
        last = `${target.endpoint} sent no certificate`;
        continue;
      }
      const fingerprint = fingerprintSha256(leaf.der);
      if (fingerprint !== cert.fingerprintSha256) {
        last = `${target.endpoint} serves ${fingerprint}, not ${cert.fingerprintSha256}`;
        continue;
      }
      const verdict = validateChain({ leaf, intermediates: rest, roots: await deps.trustedRoots(), at: deps.clock.now(), host: serverName, purpose: 'serverAuth' });
      if (verdict.valid) return undefined;
      last = `${target.endpoint} serves it, but ${verdict.reasons.join('; ')}`;
    } catch (err) {
      last = `${target.endpoint}: ${(err as Error).message}`;
    }
  }
  return last;
}

async function recordSuccess(cert: StoredCertificate, target: Target, attempt: Attempt, deps: DeploymentDeps, detail: string) {
  await deps.certificates.addHistory(cert.id, { kind: 'deployment', attempt: attempt.id, target: target.name, outcome: 'succeeded', at: deps.clock.now().toISOString(), detail });
  await emit('deployment.succeeded', cert, { target: target.name, targetType: target.type, deploymentStatus: 'deployed' }, attempt, deps);
}

async function bundleOf(cert: StoredCertificate, deps: DeploymentDeps): Promise<CertificateBundle | undefined> {
  if (cert.keyRef !== certificateKeyRef(cert.id)) return undefined;
  return { certificatePem: cert.certificatePem, chainPem: cert.chainPem, privateKeyPem: await (await deps.keyVault()).get(cert.keyRef) };
}

/**
 * Puts back what each target served before `newCertificateId`, then proves it is served again
 * (for targets with an endpoint). Targets that never got the new certificate are left alone.
 */
export async function rollbackTargets(previousCertificateId: string, newCertificateId: string | undefined, targetNames: string[], attempt: Attempt, deps: DeploymentDeps) {
  if (!newCertificateId) return [];
  const successor = await loadCertificate(newCertificateId, deps, 'rollback');
  const previous = await loadCertificate(previousCertificateId, deps, 'rollback');
  const previousBundle = await bundleOf(previous, deps);
  // A target the new certificate was refused for (its chain did not validate) was never touched.
  const refused = new Set((await deps.certificates.history(successor.id)).filter((h) => h.attempt === attempt.id && h.outcome === 'failed' && h.detail?.includes(NOTHING_DEPLOYED)).map((h) => h.target));
  const results: { target: string; verified?: boolean; problem?: string }[] = [];
  for (const name of targetNames) {
    const target = await deps.targets.get(name);
    if (!target || !previousBundle || refused.has(name)) continue;
    let problem: string | undefined;
    try {
      // One target that cannot be rolled back must not keep the others on the new certificate.
      if (!(await deps.targetAdapter(target).rollback(successor.certificatePem, previousBundle))) continue;
      problem = target.endpoint ? await servedProblem(previous, target, deps) : undefined;
    } catch (err) {
      problem = `the rollback failed: ${(err as Error).message}`;
    }
    results.push({ target: name, verified: target.endpoint ? !problem : undefined, problem });
    await deps.certificates.addHistory(successor.id, { kind: 'deployment', attempt: attempt.id, target: name, outcome: 'rolled_back', at: deps.clock.now().toISOString(), ...(problem ? { detail: `restored, but ${problem}`, unverified: true } : { detail: `restored ${previous.id}` }) });
    await emit('deployment.rolled_back', successor, { target: name, restoredCertificateId: previous.id, ...(problem ? { reason: `the rollback could not be verified: ${problem}` } : {}) }, attempt, deps);
  }
  await takeTargetsOff(successor, attempt, deps);
  return results;
}

/**
 * The rolled-back successor stops naming the targets this attempt's history says it is not served
 * on: those it was refused for (nothing deployed) and those put back without a problem. One whose
 * rollback had a problem, or was not tried, stays named: it may still be served there. From the
 * history, not from this run alone, so a replayed Rollback (whose targets already hold the
 * previous certificate, and answer that nothing was taken back) decides as the first run did. A
 * concurrent change to its targets is read again, a few times at most.
 */
async function takeTargetsOff(successor: StoredCertificate, attempt: Attempt, deps: DeploymentDeps) {
  const names = new Set((await deps.certificates.history(successor.id))
    .filter((h) => h.attempt === attempt.id && ((h.outcome === 'rolled_back' && !h.unverified) || (h.outcome === 'failed' && h.detail?.includes(NOTHING_DEPLOYED))))
    .map((h) => h.target));
  let current: StoredCertificate | undefined = successor;
  for (let tries = 0; tries < 3 && current; tries++) {
    const kept = current.targets.filter((t) => !names.has(t));
    if (kept.length === current.targets.length || (await deps.certificates.replaceTargets(current.id, current.targets, kept))) return;
    current = await deps.certificates.get(current.id);
  }
}

function splitEndpoint(endpoint: string): [string, number] {
  const at = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, at).replace(/^\[|\]$/g, ''), Number(endpoint.slice(at + 1))];
}
