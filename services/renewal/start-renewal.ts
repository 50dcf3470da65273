import { ConflictError } from '../../shared/errors.ts';
import { certificateLock, leaseUntil } from '../../shared/certificate-lock.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateStore, Clock, LockStore, RequestStore, SagaStarter } from '../../shared/ports.ts';
import { executionName } from './sweep.ts';

export interface StartDeps {
  clock: Clock;
  locks: LockStore;
  saga: SagaStarter;
}

/**
 * Starts the renewal saga for one certificate on someone's word (a person asking, or an approver's
 * yes), with the certificate's lock taken for the execution first (its Lock step then finds it its
 * own), so a deployment retrying meanwhile cannot slip in. ConflictError while another renewal or
 * deployment holds the lock.
 * @returns the execution's name.
 */
export async function startRenewal(cert: StoredCertificate, trigger: 'manual' | 'approval', requestedBy: string, nonce: string, deps: StartDeps): Promise<string> {
  const name = executionName(cert.id, deps.clock.now(), trigger, nonce);
  const lock = certificateLock(cert.id);
  if (!(await deps.locks.acquire(lock, name, leaseUntil(deps.clock)))) {
    throw new ConflictError(`a renewal or deployment of ${cert.id} is under way (${await deps.locks.holder(lock)}); try again when it has finished`, 'id');
  }
  try {
    await deps.saga.start(name, { certificateId: cert.id, executionName: name, trigger, requestedBy });
  } catch (err) {
    await deps.locks.release(lock, name);
    throw err;
  }
  return name;
}

/**
 * request.approved for a renewal's approval: the renewal it allows starts now, read from the store
 * (the event only says which request). Anything else approved is issuance's. A redelivery starts
 * the same execution (its name comes from the request), which Step Functions answers once.
 */
export async function renewOnApproval(requestId: string, deps: StartDeps & { requests: Pick<RequestStore, 'get'>; certificates: Pick<CertificateStore, 'get'> }): Promise<string | undefined> {
  const request = await deps.requests.get(requestId);
  if (!request?.renews || request.status !== 'approved' || !request.decidedBy) return undefined;
  const cert = await deps.certificates.get(request.renews);
  if (!cert || cert.status !== 'active' || cert.renewalRequestId !== requestId) return undefined;
  try {
    return await startRenewal(cert, 'approval', request.decidedBy, requestId, deps);
  } catch (err) {
    // Not a refusal the delivery may drop (a 4xx is): the lock is busy for now, and the approver's
    // yes must not be lost, so the delivery tries again (and, failing, leaves a dead letter).
    if (err instanceof ConflictError) throw new Error(`the renewal request ${requestId} allows waits: ${err.message}`);
    throw err;
  }
}
