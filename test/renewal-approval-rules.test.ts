import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from './support/dynamo.ts';
import { localVault, openBuiltInCa } from './support/vault.ts';
import type { BuiltInCa } from '../adapters/built-in-ca.ts';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { DynamoRequestLeases, DynamoRequestStore } from '../adapters/dynamodb/request-store.ts';
import { DynamoLockStore } from '../adapters/dynamodb/lock-store.ts';
import { DynamoAnnouncementLedger } from '../adapters/dynamodb/announcement-ledger.ts';
import { policyGated } from '../shared/policy-gated-authority.ts';
import { checkSignature, type SigningConfig } from '../shared/signing-policy.ts';
import { parsePolicy } from '../shared/policy.ts';
import { parseOwnershipRules } from '../shared/ownership.ts';
import { newKeyAndCsr } from '../shared/x509/new-key.ts';
import { issuedCertificate } from '../shared/issued-certificate.ts';
import { renewalSignature } from '../shared/renewal-signature.ts';
import { renewedByCertops } from '../shared/renewal-window.ts';
import type { BusEvent } from '../shared/events/envelope.ts';
import type { CertificateRequest, StoredCertificate } from '../shared/model.ts';
import { abort, lock, renew } from '../services/renewal/saga-steps.ts';
import { approveRequest } from '../services/issuance/decide-request.ts';
import { renewalJudgements, readinessReport } from '../services/inventory/readiness-report.ts';
import { noticeOf } from '../services/notifications/notice.ts';
import { sweepExpiring } from '../services/renewal/sweep.ts';

const config = (policy: unknown): SigningConfig => ({ policy: parsePolicy(policy, (f) => f), ownership: parseOwnershipRules([]) });
// corp.internal is outside the allowed domains: a renewal of such names needs an approver's yes.
const POLICY = config({ rules: [{ allowedDomains: ['example.com'], maxValidityDays: 90 }] });

// Found in review of renewals that wait for an approver, of certificates ACME clients order, and
// of the readiness report: each the rule the renewal's own steps follow.
describe('renewal approvals: four eyes across a lineage, ACME clients\' certificates, readiness and the sweep agree', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let ca: BuiltInCa;
  let requests: DynamoRequestStore;
  let certificates: DynamoCertificateStore;
  const sent: BusEvent[] = [];
  const publisher = { publish: async (events: BusEvent[]) => void sent.push(...events) };
  const home = mkdtempSync(join(tmpdir(), 'certops-adv3-'));

  const deps = (signing: SigningConfig = POLICY) => ({
    ...signing, clock: { now: () => new Date() }, newId: () => randomUUID(), certificates, locks: new DynamoLockStore(db.table, { now: () => new Date() }), requests,
    requestLeases: new DynamoRequestLeases(db.table, { now: () => new Date() }), targets: { get: async () => undefined }, publisher, announcements: new DynamoAnnouncementLedger(db.table),
    keyVault: async () => localVault(db.table, home), authority: async () => policyGated(ca, () => signing, requests),
  });
  const store = async (names: string[], extra: Partial<StoredCertificate> = {}) => {
    const key = await newKeyAndCsr('EC_P256', names[0], names);
    const signed = await ca.issue({ ...key, commonName: names[0], subjectAlternativeNames: names, validityDays: 30, profile: 'tls-server' });
    const cert = issuedCertificate(signed, { issuerBackend: 'local', profile: 'tls-server', targets: [], managedKey: false, ...extra } as any, new Date());
    await certificates.create(cert);
    return cert;
  };
  const request = (fields: Partial<CertificateRequest>): CertificateRequest => ({
    requestId: randomUUID(), status: 'issued', commonName: 'x', subjectAlternativeNames: ['x'], profile: 'tls-server', validityDays: 30, issuer: 'local', targets: [], requestedBy: 'rita', reasons: [], createdAt: new Date().toISOString(), ...fields,
  });

  beforeAll(async () => {
    db = await freshTable();
    ca = await openBuiltInCa(db.table, home);
    requests = new DynamoRequestStore(db.table);
    certificates = new DynamoCertificateStore(db.table);
  });
  afterAll(() => db.close());

  it('four eyes: the principal an ACME account orders for (askedBy of the lineage) may not approve the renewal of those names, whose approval then covers the lineage', async () => {
    // certbot, bound by EAB to pat, ordered acme.corp.internal when policy still allowed it (no approver needed).
    const lineage = request({ commonName: 'acme.corp.internal', subjectAlternativeNames: ['acme.corp.internal'], requestedBy: 'acme:acct-1', askedBy: 'pat', requestedByRole: 'requester' });
    await requests.create(lineage);
    const cert = await store(['acme.corp.internal'], { requestId: lineage.requestId, requestedBy: 'acme:acct-1' });
    // An admin renews it by hand; the policy in force wants an approver now.
    await expect(lock({ certificateId: cert.id, executionName: `renew-${cert.id}-1`, trigger: 'manual', requestedBy: 'admin' }, deps())).rejects.toThrow(/waits for an approver/);
    const asked = (await requests.get((await certificates.get(cert.id))!.renewalRequestId!))!;
    // pat stood for these names (the lineage's request was asked for on pat's behalf): pat may not approve their renewal.
    await expect(approveRequest(asked.requestId, 'pat', { comment: 'mine' }, deps() as any)).rejects.toThrow(/pat made request .* may not decide it/);
    expect(asked).toMatchObject({ requestedBy: 'acme:acct-1', askedBy: 'admin', orderedFor: 'pat', requestedByRole: 'requester' });
    // Another approver may; the successor is signed under that approval, which covers the lineage's next renewals.
    await approveRequest(asked.requestId, 'quinn', { comment: 'still ours' }, deps() as any);
    const renewed = await renew({ certificateId: cert.id, executionName: `renew-${cert.id}-2`, trigger: 'approval', requestedBy: 'quinn' }, deps());
    const successor = (await certificates.get(renewed.newCertificateId))!;
    expect(successor.requestId).toBe(asked.requestId);
    await expect(checkSignature(POLICY, renewalSignature(successor, POLICY), requests)).resolves.toBeDefined();
    // An approval by anyone who stood for the names covers nothing, however it was recorded.
    for (const decidedBy of ['acme:acct-1', 'admin', 'pat']) {
      const self = request({ ...asked, requestId: randomUUID(), status: 'approved', decidedBy });
      await requests.create(self);
      await expect(checkSignature(POLICY, renewalSignature({ ...successor, requestId: self.requestId }, POLICY), requests)).rejects.toMatchObject({ reasons: expect.arrayContaining(['no approval covers these names']) });
    }
  });

  it('renewal.failed names a waiting approval request only when the lock failed for want of one (not when the policy now refuses outright)', async () => {
    const cert = await store(['legacy.corp.internal']);
    await expect(lock({ certificateId: cert.id, executionName: `sweep-${cert.id}-1`, trigger: 'sweep' }, deps())).rejects.toThrow(/waits for an approver/);
    // The policy is tightened: the name is denied now. No approval can help.
    const denying = config({ rules: [{ allowedDomains: ['example.com'], deniedNames: ['legacy.corp.internal'], maxValidityDays: 90 }] });
    const state = { certificateId: cert.id, executionName: `renew-${cert.id}-3`, trigger: 'manual' as const, requestedBy: 'admin' };
    const err = await lock(state, deps(denying)).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^lock: the policy in force does not allow renewing/);
    sent.length = 0;
    await abort({ ...state, error: { Error: 'StepError', Cause: err!.message }, failedStep: 'lock' }, deps(denying));
    const failed = sent.find((e) => e.detailType === 'renewal.failed')!;
    const notice = noticeOf('renewal.failed', failed.detail, {}, 'https://c');
    // The notice tells approvers to approve a request whose approval changes nothing, at medium severity.
    expect(notice.title).not.toMatch(/waits for an approver/);
    expect(failed.detail.approvalRequestId).toBeUndefined();
  });

  it('a successor certops made (its own key, deployed by certops) of an ACME-ordered certificate is still renewed by certops', async () => {
    const cert = await store(['client.example.com'], { requestedBy: 'acme:acct-2' });
    const renewed = await renew({ certificateId: cert.id, executionName: `renew-${cert.id}-1`, trigger: 'manual', requestedBy: 'admin' }, deps());
    const successor = (await certificates.get(renewed.newCertificateId))!;
    // certops holds its key: no ACME client has it, so no ACME client can renew it.
    expect(successor.keyRef).toBeDefined();
    expect(successor.requestedBy).toBe('acme:acct-2');
    expect(renewedByCertops(successor)).toBe(true);
  });

  it('readiness: an ACME client\'s renewal is a new order that no earlier approval covers, so a covered lineage is not ready', async () => {
    const approved = request({ commonName: 'ordered.corp.internal', subjectAlternativeNames: ['ordered.corp.internal'], requestedBy: 'acme:acct-3', askedBy: 'pat', decidedBy: 'quinn' });
    await requests.create(approved);
    const cert = await store(['ordered.corp.internal'], { requestId: approved.requestId, requestedBy: 'acme:acct-3' });
    const judged = await renewalJudgements([cert], { ...POLICY, requests });
    // The client's next order is judged by requestCertificate with no approvedRequestId: it waits for an approver (or is refused, unbound).
    expect(readinessReport([cert], new Date(), judged).ready).toBe(0);
  });

  it('starts in the sweep the renewal of a certificate whose request waits for an approver the policy in force no longer wants, as readiness says', async () => {
    const cert = await store(['waiting.example.com'], { targets: ['web'] });
    const waiting = request({ status: 'pending_approval', renews: cert.id, commonName: 'waiting.example.com', subjectAlternativeNames: ['waiting.example.com'], expiresAt: new Date(Date.now() + 72 * 3_600_000).toISOString() });
    await requests.create(waiting);
    await certificates.update(cert.id, { renewalRequestId: waiting.requestId });
    const current = (await certificates.get(cert.id))!;
    const judged = await renewalJudgements([current], { ...POLICY, requests });
    const ready = readinessReport([current], new Date(), judged).ready === 1;
    // 25 days into a 30-day certificate: its window is open.
    const started: string[] = [];
    const at = new Date(Date.parse(current.notBefore) + 25 * 86_400_000);
    await sweepExpiring({ clock: { now: () => at }, certificates, publisher, requests, signing: POLICY, saga: { start: async (_n: string, input: { certificateId: string }) => void started.push(input.certificateId) } as any }, { days: 30, atLifetimeFraction: 2 / 3 });
    expect({ ready, renewedBySweep: started.includes(cert.id) }).toEqual({ ready: true, renewedBySweep: true });
  });
});
