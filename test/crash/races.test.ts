import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import { DynamoAnnouncementLedger } from '../../adapters/dynamodb/announcement-ledger.ts';
import { BuiltInCa } from '../../adapters/local/built-in-ca.ts';
import { FileKeyVault } from '../../adapters/local/file-key-vault.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoRevocationStore } from '../../adapters/dynamodb/revocation-store.ts';
import { DynamoIssuanceJournal } from '../../adapters/dynamodb/issuance-journal.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { policyGated } from '../../shared/policy-gated-authority.ts';
import { parsePolicy } from '../../shared/policy.ts';
import { parseOwnershipRules } from '../../shared/ownership.ts';
import type { BusEvent } from '../../shared/events/envelope.ts';
import type { CertificateAuthority } from '../../shared/ports.ts';
import { approveRequest, rejectRequest } from '../../services/issuance/decide-request.ts';
import { requestCertificate } from '../../services/issuance/request-certificate.ts';
import { parseRequestInput } from '../../services/issuance/request-input.ts';
import { recoverIssuances } from '../../services/issuance/recover-issuances.ts';
import { revokeOne } from '../../services/issuance/revoke-certificates.ts';
import { ISSUANCE } from '../../services/issuance/announcements.ts';
import { issuanceProofs } from '../../services/issuance/proofs.ts';
import { recoverAnnouncements } from '../../shared/announce.ts';

const HOUR = 3_600_000;

/**
 * The races without a crash: work whose first attempt failed half way is finished by the next
 * attempt (a bus redelivery, an approver, the recovery sweep), never refused and never left behind.
 */
describe('work a failed attempt left half done', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let ca: BuiltInCa;
  let now = new Date();
  const clock = { now: () => now };
  const published: BusEvent[] = [];
  /** The CA fails the next `n` signatures, as a CA that is down does. */
  let failures = 0;
  let deps: Parameters<typeof requestCertificate>[3];

  beforeAll(async () => {
    db = await freshTable();
    const home = mkdtempSync(join(tmpdir(), 'certops-races-'));
    const requests = new DynamoRequestStore(db.table);
    ca = await BuiltInCa.open(home, await FileKeyVault.open(home), 'http://127.0.0.1:8080', clock, new DynamoRevocationStore(db.table), new DynamoIssuanceJournal(db.table));
    const signing = {
      policy: parsePolicy({ approvalTimeoutHours: 24, rules: [{ allowedDomains: ['example.com'] }] }, (f) => f),
      ownership: parseOwnershipRules([]),
    };
    const flaky: CertificateAuthority = {
      ...ca, name: ca.name,
      issue: async (input) => {
        if (failures > 0) {
          failures--;
          throw new Error('the CA is unavailable');
        }
        return ca.issue(input);
      },
      chainPem: () => ca.chainPem(),
      revoke: (s, r) => ca.revoke(s, r),
      signedFor: (key) => ca.signedFor(key),
    };
    deps = {
      clock, newId: () => `req-${Math.random().toString(36).slice(2)}`, requests, certificates: new DynamoCertificateStore(db.table), locks: new DynamoLockStore(db.table, clock),
      policy: signing.policy, ownership: signing.ownership,
      publisher: { publish: async (events) => void published.push(...events) },
      announcements: new DynamoAnnouncementLedger(db.table),
      keyVault: async () => FileKeyVault.open(home),
      authority: async () => policyGated(flaky, () => signing, requests),
      targets: { get: async () => undefined },
    };
  });
  afterAll(() => db.close());

  it('a bus request whose first delivery failed after claiming its key is finished by the redelivery, not refused', async () => {
    const input = parseRequestInput({ commonName: 'bus.example.com' }, 'local');
    const provisioner = { name: 'provisioner', role: 'requester' as const };
    failures = 1;
    await expect(requestCertificate(input, provisioner, 'event-1', deps)).rejects.toThrow(/unavailable/);
    // The bus delivers the same event again: same key, same principal.
    const answer = await requestCertificate(input, provisioner, 'event-1', deps);
    expect(answer).toMatchObject({ status: 'issued', certificateId: expect.any(String) });
    expect(await requestCertificate(input, provisioner, 'event-1', deps)).toMatchObject({ requestId: answer.requestId, certificateId: answer.certificateId });
    expect(published.filter((e) => e.detailType === 'certificate.issued' && e.detail.requestId === answer.requestId)).toHaveLength(1);
    expect(await deps.certificates.get(answer.certificateId!)).toMatchObject({ status: 'active', requestId: answer.requestId });
  });

  it('finishes, after any outage, a request the CA signed before the process died, instead of letting it lapse', async () => {
    const asked = await requestCertificate(parseRequestInput({ commonName: 'outage.corp.internal' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    // Approved, signed by the CA (its journal has it), then killed before anything was recorded: fail the step after signing.
    const certificates = deps.certificates;
    deps.certificates = { ...certificates, create: async () => { throw new Error('killed after signing'); } } as typeof certificates;
    try {
      await expect(approveRequest(asked.requestId, 'alice', {}, deps)).rejects.toThrow(/killed after signing/);
    } finally {
      deps.certificates = certificates;
    }
    expect(await ca.signedFor(asked.requestId)).toBe(true);
    // Started again three days later, long past the approval timeout.
    now = new Date(now.getTime() + 73 * HOUR);
    const recovery = await recoverIssuances(deps, 0);
    expect(recovery.expired).not.toContain(asked.requestId);
    expect(recovery.finished).toContain(asked.requestId);
    expect(await deps.requests.get(asked.requestId)).toMatchObject({ status: 'issued', certificateId: expect.any(String) });
  });

  it('announces a revocation and an approval whose process died after recording them, when asked again or recovered', async () => {
    const publisher = deps.publisher;
    const dying = { publish: async () => { throw new Error('killed before announcing'); } };
    // A revocation recorded, then the process died before certificate.revoked went out: asking again announces it.
    const issued = await requestCertificate(parseRequestInput({ commonName: 'revoked.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    await expect(revokeOne(issued.certificateId!, { reason: 'keyCompromise' }, 'alice', { ...deps, publisher: dying })).rejects.toThrow(/killed/);
    expect(await deps.certificates.get(issued.certificateId!)).toMatchObject({ status: 'revoked' });
    await revokeOne(issued.certificateId!, { reason: 'keyCompromise' }, 'alice', deps);
    expect(published.filter((e) => e.detailType === 'certificate.revoked' && e.detail.certificateId === issued.certificateId)).toMatchObject([{ detail: { reason: 'keyCompromise', eventId: `revoked:${issued.certificateId}` } }]);
    // An approval recorded, then the process died before request.approved went out: the recovery announces it before it signs.
    const asked = await requestCertificate(parseRequestInput({ commonName: 'approved.corp.internal' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    deps.publisher = dying;
    try {
      await expect(approveRequest(asked.requestId, 'bob', { comment: 'ok' }, deps)).rejects.toThrow(/killed/);
    } finally {
      deps.publisher = publisher;
    }
    expect(published.some((e) => e.detailType === 'request.approved' && e.detail.requestId === asked.requestId)).toBe(false);
    now = new Date(now.getTime() + 60_000);
    expect((await recoverIssuances(deps, 0)).finished).toContain(asked.requestId);
    expect(published.filter((e) => e.detailType === 'request.approved' && e.detail.requestId === asked.requestId)).toMatchObject([{ detail: { decidedBy: 'bob', comment: 'ok' } }]);
  });

  it('an approved request whose issuance failed can be approved again to retry, rejected, or lapses', async () => {
    const ask = async (cn: string) => requestCertificate(parseRequestInput({ commonName: cn }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const approveFailing = async (requestId: string) => {
      failures = 1;
      await expect(approveRequest(requestId, 'alice', {}, deps)).rejects.toThrow(/unavailable/);
      expect(await deps.requests.get(requestId)).toMatchObject({ status: 'approved', decidedBy: 'alice' });
    };

    const retried = await ask('retry.corp.internal');
    expect(retried.status).toBe('pending_approval');
    await approveFailing(retried.requestId);
    expect(await approveRequest(retried.requestId, 'bob', {}, deps)).toMatchObject({ status: 'issued', certificateId: expect.any(String) });

    const rejected = await ask('reject.corp.internal');
    await approveFailing(rejected.requestId);
    expect(await rejectRequest(rejected.requestId, 'bob', { comment: 'not while the CA is down' }, deps)).toMatchObject({ status: 'rejected' });
    expect(await deps.requests.get(rejected.requestId)).toMatchObject({ status: 'rejected', decidedBy: 'bob' });
    // A rejected request is not issued by the recovery sweep.
    now = new Date(now.getTime() + 60_000);
    expect((await recoverIssuances(deps, 0)).finished).not.toContain(rejected.requestId);

    const lapsing = await ask('lapse.corp.internal');
    await approveFailing(lapsing.requestId);
    // The sweep tries again while the approval is fresh...
    now = new Date(now.getTime() + 60_000);
    failures = 1;
    expect((await recoverIssuances(deps, 0)).waiting.join()).toMatch(new RegExp(`${lapsing.requestId}: .*unavailable`));
    // ...and a day later, with the approval timed out, the request lapses instead of being signed.
    now = new Date(now.getTime() + 25 * HOUR);
    expect((await recoverIssuances(deps, 0)).expired).toEqual([lapsing.requestId]);
    expect(await deps.requests.get(lapsing.requestId)).toMatchObject({ status: 'rejected', decidedBy: 'expiry' });
    expect(published.filter((e) => e.detailType === 'certificate.issued' && [rejected.requestId, lapsing.requestId].includes(String(e.detail.requestId)))).toEqual([]);
  });

  it('announces a rejection and finishes a revocation whose process died before announcing them, and drops the intent of a change that never happened', async () => {
    const { certificates, requests, publisher } = deps;
    const killed = (what: string) => async () => { throw new Error(`killed ${what}`); };
    const ask = (cn: string) => requestCertificate(parseRequestInput({ commonName: cn }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const refused = await ask('refused.corp.internal');
    const untouched = await ask('untouched.corp.internal');
    const issued = await ask('compromised.example.com');
    try {
      // Rejected, then killed before request.rejected went out.
      deps.publisher = { publish: killed('before announcing') };
      await expect(rejectRequest(refused.requestId, 'bob', { comment: 'no' }, deps)).rejects.toThrow(/killed/);
      // Killed before the rejection was written: only its intent is there.
      deps.publisher = publisher;
      deps.requests = Object.assign(Object.create(requests), { transition: killed('before the change') });
      await expect(rejectRequest(untouched.requestId, 'bob', {}, deps)).rejects.toThrow(/killed/);
      // Revoked at the CA, then killed before the inventory heard of it.
      deps.requests = requests;
      deps.certificates = Object.assign(Object.create(certificates), { update: killed('after the CA revoked') });
      await expect(revokeOne(issued.certificateId!, { reason: 'keyCompromise' }, 'alice', deps)).rejects.toThrow(/killed/);
    } finally {
      Object.assign(deps, { certificates, requests, publisher });
    }
    const serial = (await certificates.get(issued.certificateId!))!.serialNumber;
    expect(await certificates.get(issued.certificateId!)).toMatchObject({ status: 'active' });
    const announced = (type: string, id: string) => published.filter((e) => e.detailType === type && (e.detail.requestId ?? e.detail.certificateId) === id);
    expect(announced('request.rejected', refused.requestId)).toEqual([]);

    const recovery = await recoverAnnouncements(ISSUANCE, issuanceProofs, new Date(now.getTime() + 1), deps);
    expect(recovery).toEqual({ announced: expect.arrayContaining([`rejected:${refused.requestId}`, `revoked:${issued.certificateId}`]), dropped: [`rejected:${untouched.requestId}`], waiting: [] });
    expect(announced('request.rejected', refused.requestId)).toMatchObject([{ detail: { decidedBy: 'bob', comment: 'no', occurredAt: (await requests.get(refused.requestId))!.decidedAt } }]);
    expect(announced('request.rejected', untouched.requestId)).toEqual([]);
    expect(await requests.get(untouched.requestId)).toMatchObject({ status: 'pending_approval' });
    expect(await certificates.get(issued.certificateId!)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect((await new DynamoRevocationStore(db.table).list('local')).map((r) => r.serialNumber)).toContain(serial);
    expect(announced('certificate.revoked', issued.certificateId!)).toHaveLength(1);
    // Recovered once: a second run finds nothing.
    expect(await recoverAnnouncements(ISSUANCE, issuanceProofs, new Date(now.getTime() + 1), deps)).toEqual({ announced: [], dropped: [], waiting: [] });
  });
});
