import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import type { BuiltInCa } from '../../adapters/built-in-ca.ts';
import { localVault, openBuiltInCa } from '../support/vault.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoRequestLeases, DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoAnnouncementLedger } from '../../adapters/dynamodb/announcement-ledger.ts';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
import { policyGated } from '../../shared/policy-gated-authority.ts';
import { checkSignature, judge, type SigningConfig } from '../../shared/signing-policy.ts';
import { parsePolicy } from '../../shared/policy.ts';
import { parseOwnershipRules } from '../../shared/ownership.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { issuedCertificate } from '../../shared/issued-certificate.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import { lock, renew } from '../../services/renewal/saga-steps.ts';
import { approveRequest } from '../../services/issuance/decide-request.ts';
import { requestCertificate } from '../../services/issuance/request-certificate.ts';
import { parseRequestInput } from '../../services/issuance/request-input.ts';

const DAY = 86_400_000;
const config = (policy: unknown, ownership: unknown = []): SigningConfig => ({ policy: parsePolicy(policy, (f) => f), ownership: parseOwnershipRules(ownership) });
const STRICT = config({
  rules: [
    { environment: 'prod', allowedDomains: ['payments.example.com'], deniedNames: ['admin.payments.example.com'], keyTypes: ['EC_P256'], maxValidityDays: 30, ownerRequired: true },
    { allowedDomains: ['example.com'], allowWildcards: true, maxValidityDays: 90 },
  ],
}, [{ domain: 'payments.example.com', environment: 'prod', owner: 'team-payments' }]);

/** The one door to a signature: issuing, approving, renewing and adopting all pass the same gate. */
describe('the policy gate', () => {
  const bus = mockClient(EventBridgeClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  let ca: BuiltInCa;
  let requests: DynamoRequestStore;
  const request = (fields: Partial<CertificateRequest>): CertificateRequest => ({
    requestId: 'r', status: 'issued', commonName: 'pay.corp.internal', subjectAlternativeNames: ['pay.corp.internal'], profile: 'tls-server', validityDays: 30, issuer: 'local',
    targets: [], requestedBy: 'rita', reasons: [], createdAt: new Date().toISOString(), decidedBy: 'alice', ...fields,
  });
  const wanted = { commonName: 'pay.corp.internal', names: ['pay.corp.internal'], keyAlgorithm: 'EC_P256', validityDays: 30, profile: 'tls-server' as const };

  beforeAll(async () => {
    db = await freshTable();
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const home = mkdtempSync(join(tmpdir(), 'certops-gate-'));
    ca = await openBuiltInCa(db.table, home);
    requests = new DynamoRequestStore(db.table);
    for (const r of [
      request({ requestId: 'approved-by-alice' }),
      request({ requestId: 'approved-by-herself', decidedBy: 'rita' }),
      request({ requestId: 'approved-other-names', commonName: 'other.corp.internal', subjectAlternativeNames: ['other.corp.internal'] }),
      request({ requestId: 'still-pending', status: 'pending_approval', decidedBy: undefined }),
    ]) await requests.create(r);
  });
  afterAll(() => db.close());

  it('judges a request without an environment by the rule its names select through the ownership rules', () => {
    expect(judge(STRICT, { ...wanted, commonName: 'admin.payments.example.com', names: ['admin.payments.example.com'] })).toMatchObject({ environment: 'prod', owner: 'team-payments', verdict: { decision: 'deny' } });
    expect(() => judge(STRICT, { ...wanted, commonName: 'x.payments.example.com', names: ['x.payments.example.com'], environment: 'dev' })).toThrow(/belongs to prod/);
    expect(() => judge(config({ rules: [{ allowedDomains: ['example.com'] }] }, [{ domain: 'a.example.com', environment: 'prod' }, { domain: 'b.example.com', environment: 'dev' }]), { ...wanted, commonName: 'a.example.com', names: ['a.example.com', 'b.example.com'] })).toThrow(/span environments/);
    // The common name is judged like any SAN.
    expect(judge(STRICT, { ...wanted, commonName: 'evil.org', names: ['ok.example.com'] }).verdict.reasons.join()).toMatch(/evil.org is outside/);
    // A default environment applies when nothing else places the request.
    expect(judge(config({ defaultEnvironment: 'prod', rules: [{ environment: 'prod', allowedDomains: ['example.com'], ownerRequired: true }, { allowedDomains: ['example.com'] }] }), { ...wanted, commonName: 'x.example.com', names: ['x.example.com'] }).verdict.reasons).toEqual(['an owner is required']);
  });

  it('lets names outside policy through only with an approval of those very names by someone other than the requester', async () => {
    await expect(checkSignature(STRICT, wanted, requests)).rejects.toMatchObject({ status: 403, reasons: expect.arrayContaining(['no approval covers these names']) });
    await expect(checkSignature(STRICT, { ...wanted, approvedRequestId: 'approved-by-alice' }, requests)).resolves.toBeDefined();
    for (const id of ['approved-by-herself', 'approved-other-names', 'still-pending', 'no-such-request']) {
      await expect(checkSignature(STRICT, { ...wanted, approvedRequestId: id }, requests), id).rejects.toMatchObject({ status: 403 });
    }
    // An approval never lifts a hard limit.
    await expect(checkSignature(STRICT, { ...wanted, validityDays: 400, approvedRequestId: 'approved-by-alice' }, requests)).rejects.toThrow(/validity of 400 days is over the 90 allowed/);
  });

  it('the CA behind the gate judges the key by the key itself, and signs nothing the gate refuses', async () => {
    const gated = policyGated(ca, () => STRICT, requests);
    const rsa = await newKeyAndCsr('RSA_2048', 'k.payments.example.com', ['k.payments.example.com']);
    await expect(gated.issue({ ...rsa, keyType: 'EC', commonName: 'k.payments.example.com', subjectAlternativeNames: ['k.payments.example.com'], validityDays: 30, profile: 'tls-server', owner: 'team-payments' }))
      .rejects.toThrow(/key RSA_2048 is not allowed/);
    const ec = await newKeyAndCsr('EC_P256', 'login.bank.com', ['login.bank.com', '8.8.8.8']);
    await expect(gated.issue({ ...ec, commonName: 'login.bank.com', subjectAlternativeNames: ['login.bank.com', '8.8.8.8'], validityDays: 36500, profile: 'tls-server' })).rejects.toMatchObject({ status: 403 });
    const ok = await newKeyAndCsr('EC_P256', 'ok.example.com', ['ok.example.com']);
    const issued = await gated.issue({ ...ok, commonName: 'ok.example.com', subjectAlternativeNames: ['ok.example.com'], validityDays: 30, profile: 'tls-server' });
    expect('certificatePem' in issued).toBe(true);
  });

  it('the built-in CA never signs past its intermediate\'s own notAfter', async () => {
    let now = Date.now();
    const clock = { now: () => new Date(now) };
    // A CA of its own, opened with a clock the test moves.
    const own = await freshTable();
    const young = await openBuiltInCa(own.table, mkdtempSync(join(tmpdir(), 'certops-ca-end-')), clock, 'http://x');
    await own.close();
    const intermediateEnd = Date.parse(certificateRecord(certificateBlocks(await young.chainPem(), 'chain')[0]).notAfter);
    now = intermediateEnd - 10 * DAY;
    const key = await newKeyAndCsr('EC_P256', 'late.example.com', ['late.example.com']);
    const late = await young.issue({ ...key, commonName: 'late.example.com', subjectAlternativeNames: ['late.example.com'], validityDays: 90, profile: 'tls-server' });
    expect(Date.parse(certificateRecord(certificateBlocks(late.certificatePem, 'leaf')[0]).notAfter)).toBeLessThanOrEqual(intermediateEnd);
  });

  describe('renewal', () => {
    const deps = () => ({
      ...STRICT, clock: { now: () => new Date() }, newId: () => randomUUID(), certificates: new DynamoCertificateStore(db.table), locks: new DynamoLockStore(db.table, { now: () => new Date() }), requestLeases: new DynamoRequestLeases(db.table, { now: () => new Date() }), requests, targets: { get: async () => undefined },
      publisher: new EventBridgePublisher('certops-test', { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      announcements: new DynamoAnnouncementLedger(db.table),
      keyVault: async () => localVault(db.table, mkdtempSync(join(tmpdir(), 'certops-vault-'))),
      authority: async () => policyGated(ca, () => STRICT, requests),
    });
    const store = async (names: string[], days: number, extra: object = {}) => {
      const key = await newKeyAndCsr('EC_P256', names[0], names);
      const signed = await ca.issue({ ...key, commonName: names[0], subjectAlternativeNames: names, validityDays: days, profile: 'tls-server' });
      const cert = issuedCertificate(signed, { issuerBackend: 'local', profile: 'tls-server', targets: [], managedKey: false, ...extra }, new Date());
      await deps().certificates.create(cert);
      return cert;
    };

    it('fails at its first step, with the reasons, when the policy in force no longer allows the names without an approval, and asks for one', async () => {
      const forged = await store(['login.bank.com', '8.8.8.8'], 36500);
      const state = { certificateId: forged.id, executionName: `renew-${forged.id}-1`, trigger: 'manual' as const, requestedBy: 'mallory' };
      await expect(lock(state, deps())).rejects.toThrow(/^lock: renewing .* needs an approval under the policy in force: request \S+ waits for an approver \(.*login.bank.com is outside the allowed domains/);
      const asked = (await requests.get((await deps().certificates.get(forged.id))!.renewalRequestId!))!;
      expect(asked).toMatchObject({ status: 'pending_approval', renews: forged.id, requestedBy: 'mallory', subjectAlternativeNames: ['login.bank.com', '8.8.8.8'] });
      // Asked again, the renewal points at the request already waiting: one approval, not one a day.
      await expect(lock({ ...state, executionName: `renew-${forged.id}-2` }, deps())).rejects.toThrow(new RegExp(`request ${asked.requestId} waits`));
      // A renew step reached some other way still meets the CA's gate.
      await expect(renew(state, deps())).rejects.toThrow(/^renew: the CA refused or failed: refused by policy/);
      expect((await deps().certificates.get(forged.id))!.pendingRenewal).toBeUndefined();
    });

    it('renews names outside policy on the approval of the lineage\'s first request, within the lifetime policy allows now', async () => {
      const approved = await store(['pay.corp.internal'], 300, { requestId: 'approved-by-alice' });
      const state = { certificateId: approved.id, executionName: `renew-${approved.id}-1`, trigger: 'manual' as const };
      await lock(state, deps());
      const { newCertificateId } = await renew(state, deps());
      const successor = (await deps().certificates.get(newCertificateId))!;
      expect((Date.parse(successor.notAfter) - Date.parse(successor.notBefore)) / DAY).toBeLessThanOrEqual(90.01);
      expect(successor.requestId).toBe('approved-by-alice');
    });
  });

  it('an approval given before the policy changed does not sign what the policy now forbids', async () => {
    const open = config({ rules: [{ allowedDomains: ['example.com'] }] });
    let current = open;
    const gatedDeps = {
      clock: { now: () => new Date() }, newId: () => `req-${Math.random()}`, requests, certificates: new DynamoCertificateStore(db.table), locks: new DynamoLockStore(db.table, { now: () => new Date() }), requestLeases: new DynamoRequestLeases(db.table, { now: () => new Date() }),
      get policy() { return current.policy; }, get ownership() { return current.ownership; },
      publisher: new EventBridgePublisher('certops-test', { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      announcements: new DynamoAnnouncementLedger(db.table),
      keyVault: async () => localVault(db.table, mkdtempSync(join(tmpdir(), 'certops-vault-'))),
      authority: async () => policyGated(ca, () => current, requests),
    };
    const pending = await requestCertificate(parseRequestInput({ commonName: 'later.corp.internal' }, 'local'), { name: 'rita', role: 'requester' }, undefined, { ...gatedDeps, targets: { get: async () => undefined } });
    expect(pending.status).toBe('pending_approval');
    current = config({ rules: [{ allowedDomains: ['example.com'], deniedNames: ['.corp.internal'] }] });
    await expect(approveRequest(pending.requestId, 'alice', { comment: 'ok' }, gatedDeps)).rejects.toMatchObject({ status: 403, reasons: expect.arrayContaining(['later.corp.internal is a denied name']) });
    expect(await requests.get(pending.requestId)).toMatchObject({ status: 'rejected', decidedBy: 'policy' });
  });
});
