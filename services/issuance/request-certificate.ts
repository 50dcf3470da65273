import { ConflictError, ValidationError } from '../../shared/errors.ts';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import type { CertificateAuthority, Clock, EventPublisher, KeyVault, RequestStore } from '../../shared/ports.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { defaultPolicy } from './default-policy.ts';
import type { RequestInput } from './request-input.ts';

export interface IssuanceDeps {
  clock: Clock;
  newId(): string;
  requests: RequestStore;
  publisher: EventPublisher;
  keyVault(): Promise<KeyVault>;
  authority(name: string): Promise<CertificateAuthority>;
}

export interface RequestAnswer {
  requestId: string;
  status: CertificateRequest['status'];
  certificateId?: string;
  reasons: string[];
  privateKeyPem?: string;
}

function answerOf(r: CertificateRequest): RequestAnswer {
  return { requestId: r.requestId, status: r.status, certificateId: r.certificateId, reasons: r.reasons };
}

/** How long a duplicate waits for the first request with the same idempotency key to finish. */
const DUPLICATE_WAIT_MS = 10_000;

async function answerOfExisting(requestId: string, deps: IssuanceDeps): Promise<RequestAnswer> {
  const deadline = Date.now() + DUPLICATE_WAIT_MS;
  for (let delay = 20; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const existing = await deps.requests.get(requestId);
    if (existing?.status !== undefined && (existing.status !== 'issued' || existing.certificateId)) return answerOf(existing);
    await new Promise((r) => setTimeout(r, delay));
  }
  throw new ConflictError('a request with this idempotency key is still being processed; retry later', 'Idempotency-Key');
}

/** The key to certify: the CSR's (its self-signature checked, no names beyond the request's), or a new one. */
async function keyAndCsr(input: RequestInput): Promise<{ csrPem: string; spkiDer: Uint8Array; keyType: string; keyPem?: string }> {
  if (input.csr) {
    const csr = await readCsr(input.csr);
    const extra = csr.names.filter((n) => !input.subjectAlternativeNames.includes(n.toLowerCase()));
    if (extra.length) throw new ValidationError(`csr names ${extra.join(', ')} that the request does not`, 'csr');
    return { csrPem: input.csr, spkiDer: csr.spkiDer, keyType: csr.keyType };
  }
  return newKeyAndCsr(input.keyAlgorithm, input.commonName, input.subjectAlternativeNames);
}

/**
 * Takes a validated request through policy and the CA. Idempotent per `idempotencyKey`: a retry
 * (even one arriving at the same moment) gets the first request's answer and issues nothing.
 */
export async function requestCertificate(input: RequestInput, requestedBy: string, idempotencyKey: string | undefined, deps: IssuanceDeps): Promise<RequestAnswer> {
  const requestId = deps.newId();
  if (idempotencyKey) {
    const winner = await deps.requests.claimIdempotencyKey(idempotencyKey, requestId);
    if (winner !== requestId) return answerOfExisting(winner, deps);
  }
  const ca = await deps.authority(input.issuer);
  const { csrPem, spkiDer, keyType, keyPem } = await keyAndCsr(input);
  const verdict = defaultPolicy(input.subjectAlternativeNames);
  const request: CertificateRequest = {
    requestId,
    status: verdict.decision === 'allow' ? 'issued' : 'pending_approval',
    commonName: input.commonName,
    subjectAlternativeNames: input.subjectAlternativeNames,
    profile: input.profile,
    validityDays: input.validityDays,
    environment: input.environment,
    owner: input.owner,
    issuer: input.issuer,
    targets: input.targets,
    requestedBy,
    reasons: verdict.reasons,
    createdAt: deps.clock.now().toISOString(),
  };
  const ctx = { now: () => deps.clock.now(), newId: deps.newId, correlationId: requestId };
  if (verdict.decision === 'needs_approval') {
    await deps.requests.create(request);
    await deps.publisher.publish([newEvent('request.pending_approval', { requestId, commonName: input.commonName, reasons: verdict.reasons, requestedBy }, ctx)]);
    return answerOf(request);
  }
  const issued = await ca.issue({ csrPem, spkiDer, keyType, commonName: input.commonName, subjectAlternativeNames: input.subjectAlternativeNames, validityDays: input.validityDays, profile: input.profile });
  const record = certificateRecord(certificateBlocks(issued.certificatePem, 'certificate')[0]);
  const keyRef = keyPem ? `cert/${record.id}` : undefined;
  if (keyPem) await (await deps.keyVault()).put(keyRef!, keyPem);
  await deps.requests.create({ ...request, certificateId: record.id });
  await deps.publisher.publish([newEvent('certificate.issued', {
    ...certificateFields(record),
    requestId,
    commonName: input.commonName,
    subjectAlternativeNames: input.subjectAlternativeNames,
    environment: input.environment,
    owner: input.owner,
    issuerBackend: ca.name,
    profile: input.profile,
    targets: input.targets,
    keyRef,
    certificatePem: issued.certificatePem,
    chainPem: issued.chainPem,
  }, ctx)]);
  return { ...answerOf({ ...request, certificateId: record.id }), ...(input.returnPrivateKey && keyPem ? { privateKeyPem: keyPem } : {}) };
}
