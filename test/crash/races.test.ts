import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import { DynamoAnnouncementLedger } from '../../adapters/dynamodb/announcement-ledger.ts';
import type { BuiltInCa } from '../../adapters/built-in-ca.ts';
import { localVault, openBuiltInCa } from '../support/vault.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoRequestLeases, DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoRevocationStore } from '../../adapters/dynamodb/revocation-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { policyGated } from '../../shared/policy-gated-authority.ts';
import { parsePolicy } from '../../shared/policy.ts';
import { parseOwnershipRules } from '../../shared/ownership.ts';
import type { BusEvent } from '../../shared/events/envelope.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { CertificateAuthority } from '../../shared/ports.ts';
import { approveRequest, rejectRequest } from '../../services/issuance/decide-request.ts';
import { requestCertificate } from '../../services/issuance/request-certificate.ts';
import { parseRequestInput } from '../../services/issuance/request-input.ts';
import { recoverIssuances } from '../../services/issuance/recover-issuances.ts';
import { revokeOne } from '../../services/issuance/revoke-certificates.ts';
import { abort, lock, renew, type RenewalDeps } from '../../services/renewal/saga-steps.ts';
import { rollbackTargets, type DeploymentDeps } from '../../services/deployment/deploy-steps.ts';
import { FilesystemTarget } from '../../adapters/targets/filesystem-target.ts';
import { ISSUANCE } from '../../services/issuance/announcements.ts';
import { issuanceProofs } from '../../services/issuance/proofs.ts';
import { recoverAnnouncements } from '../../shared/announce.ts';

const HOUR = 3_600_000;

/**
 * The races without a crash: work whose first attempt failed half way is finished by the next
 * attempt (a bus redelivery, an approver, the recovery sweep, a saga task replayed), never refused
 * and never left behind; an announcement is never lost, and a later decision never undone by an
 * older one.
 */
describe('work a failed attempt left half done', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let ca: BuiltInCa;
  let now = new Date();
  const clock = { now: () => now };
  const published: BusEvent[] = [];
  /** The CA fails the next `n` signatures, as a CA that is down does. */
  let failures = 0;
  let deps: Parameters<typeof requestCertificate>[3] & RenewalDeps;
  let home: string;

  beforeAll(async () => {
    db = await freshTable();
    home = mkdtempSync(join(tmpdir(), 'certops-races-'));
    const requests = new DynamoRequestStore(db.table);
    ca = await openBuiltInCa(db.table, home, clock);
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
      clock, newId: () => `req-${Math.random().toString(36).slice(2)}`, requests, certificates: new DynamoCertificateStore(db.table), locks: new DynamoLockStore(db.table, clock), requestLeases: new DynamoRequestLeases(db.table, clock),
      policy: signing.policy, ownership: signing.ownership,
      publisher: { publish: async (events) => void published.push(...events) },
      announcements: new DynamoAnnouncementLedger(db.table),
      keyVault: async () => localVault(db.table, home),
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

  it('recovers every other issuance when one request names an issuer no longer configured, and reports that one as waiting', async () => {
    const stranded = await requestCertificate(parseRequestInput({ commonName: 'stranded.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const { authority, requests } = deps;
    const ask = (cn: string) => requestCertificate(parseRequestInput({ commonName: cn }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    // Two requests left approved by a CA outage; the first names a CA the configuration dropped since.
    failures = 2;
    const gone = await ask('gone-ca.example.com').catch(() => undefined);
    const kept = await ask('kept-ca.example.com').catch(() => undefined);
    expect([gone, kept, stranded.status]).toEqual([undefined, undefined, 'issued']);
    const approved = (await requests.issuingBefore(new Date(now.getTime() + 1))).filter((r) => r.commonName.endsWith('-ca.example.com'));
    expect(approved.map((r) => r.commonName).sort()).toEqual(['gone-ca.example.com', 'kept-ca.example.com']);
    const goneId = approved.find((r) => r.commonName === 'gone-ca.example.com')!.requestId;
    await requests.transition(goneId, 'approved', { issuer: 'decommissioned' });
    deps.authority = async (name: string) => {
      if (name === 'decommissioned') throw new ValidationError(`issuer "${name}" is not a configured CA backend`, 'issuer');
      return authority(name);
    };
    try {
      now = new Date(now.getTime() + 60_000);
      const recovery = await recoverIssuances(deps, 0);
      expect(recovery.finished).toEqual([approved.find((r) => r.commonName === 'kept-ca.example.com')!.requestId]);
      expect(recovery.waiting).toEqual([expect.stringMatching(new RegExp(`^${goneId}: .*not a configured CA backend`))]);
    } finally {
      deps.authority = authority;
    }
  });

  it('an approval killed before its announcement is announced when the request lapses after the approval timeout', async () => {
    const asked = await requestCertificate(parseRequestInput({ commonName: 'weekend.corp.internal' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    expect(asked.status).toBe('pending_approval');
    const publisher = deps.publisher;
    deps.publisher = { publish: async () => { throw new Error('killed at announce:request.approved'); } };
    await expect(approveRequest(asked.requestId, 'bob', { comment: 'CHG-1' }, deps)).rejects.toThrow(/killed/);
    deps.publisher = publisher;
    // Recovered 25 hours later, past the approval timeout: the request lapses, its approval announced first.
    now = new Date(now.getTime() + 25 * HOUR);
    expect((await recoverIssuances(deps, 0)).expired).toContain(asked.requestId);
    await recoverAnnouncements(ISSUANCE, issuanceProofs, now, deps);
    const mine = published.filter((e) => e.detail.requestId === asked.requestId).map((e) => `${e.detailType} by ${e.detail.decidedBy}`);
    expect(mine).toContain('request.approved by bob');
  });

  it('an approval killed before its announcement is announced when another approver then rejects the request', async () => {
    const asked = await requestCertificate(parseRequestInput({ commonName: 'aws.corp.internal' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const publisher = deps.publisher;
    deps.publisher = { publish: async () => { throw new Error('killed at announce:request.approved'); } };
    await expect(approveRequest(asked.requestId, 'bob', {}, deps)).rejects.toThrow(/killed/);
    deps.publisher = publisher;
    await rejectRequest(asked.requestId, 'carol', { comment: 'not now' }, deps);
    now = new Date(now.getTime() + 16 * 60_000);
    await recoverAnnouncements(ISSUANCE, issuanceProofs, new Date(now.getTime() - 15 * 60_000), deps);
    const mine = published.filter((e) => e.detail.requestId === asked.requestId).map((e) => `${e.detailType} by ${e.detail.decidedBy}`);
    expect(mine).toContain('request.approved by bob');
  });

  it('a renew task replayed after a kill between recording the successor and announcing it announces it', async () => {
    const issued = await requestCertificate(parseRequestInput({ commonName: 'renew.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    expect(issued.status).toBe('issued');
    const state = { certificateId: issued.certificateId!, executionName: 'exec-adv-1', trigger: 'manual' as const };
    await lock(state, deps);
    const vault = await localVault(db.table, home);
    // kill -9 after the pendingRenewal write, while the kept key is being removed (before certificate.issued)
    const dying = { ...deps, keyVault: async () => ({ put: (r: string, k: string) => vault.put(r, k), get: (r: string) => vault.get(r), remove: async () => { throw new Error('killed'); } }) };
    await expect(renew(state, dying)).rejects.toThrow(/killed/);
    // the saga runner replays the task (its result was never stored)
    const out = await renew(state, deps);
    expect((await deps.certificates.get(out.newCertificateId))?.status).toBe('active');
    const issuedEvents = published.filter((e) => e.detailType === 'certificate.issued' && e.detail.certificateId === out.newCertificateId);
    expect(issuedEvents).toHaveLength(1);
  });

  it('an abort task replayed after a kill between revoking the successor and announcing it announces the revocation', async () => {
    const issued = await requestCertificate(parseRequestInput({ commonName: 'abort.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const state: any = { certificateId: issued.certificateId!, executionName: 'exec-adv-2', trigger: 'manual' as const };
    await lock(state, deps);
    const made = await renew(state, deps);
    const failing = { ...state, renewed: made, error: { Error: 'StepError', Cause: 'deploy: boom' }, failedStep: 'deploy' };
    const publisher = deps.publisher;
    await expect(abort(failing, { ...deps, publisher: { publish: async (evs: BusEvent[]) => { if (evs[0].detailType === 'certificate.revoked') throw new Error('killed'); return publisher.publish(evs); } } })).rejects.toThrow(/killed/);
    await abort(failing, deps);
    expect(await deps.certificates.get(made.newCertificateId)).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    const revokedEvents = published.filter((e) => e.detailType === 'certificate.revoked' && e.detail.certificateId === made.newCertificateId);
    expect(revokedEvents).toHaveLength(1);
  });

  it('a replayed Rollback leaves the successor named on a target whose first rollback had a problem, and off one put back cleanly (the files already restored answer that nothing was taken back)', async () => {
    const issued = await requestCertificate(parseRequestInput({ commonName: 'rollback.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const root = mkdtempSync(join(tmpdir(), 'certops-rollback-'));
    const broken = join(root, 'reload-broken');
    const site = new FilesystemTarget(join(root, 'web'), [root], `test ! -f ${broken}`);
    mkdirSync(join(root, 'web'), { mode: 0o755 });
    const bundle = async (id: string) => {
      const cert = (await deps.certificates.get(id))!;
      return { certificatePem: cert.certificatePem, chainPem: cert.chainPem, privateKeyPem: await (await deps.keyVault()).get(cert.keyRef!) };
    };
    const deployment: DeploymentDeps = {
      clock: deps.clock, certificates: deps.certificates, publisher: deps.publisher, keyVault: deps.keyVault,
      targets: { get: async (name: string) => ({ name, type: 'filesystem', directory: join(root, 'web') }) } as never,
      targetAdapter: () => site, scanner: {} as never, trustedRoots: async () => [], verifyAttempts: 1, verifyDelayMs: 1,
    };
    for (const [execution, reloads] of [['exec-rb-1', false], ['exec-rb-2', true]] as const) {
      const state: any = { certificateId: issued.certificateId!, executionName: execution, trigger: 'manual' as const };
      await lock(state, deps);
      const successor = (await renew(state, deps)).newCertificateId;
      expect(await deps.certificates.replaceTargets(successor, (await deps.certificates.get(successor))!.targets, ['web'])).toBe(true);
      rmSync(broken, { force: true });
      await site.deploy(await bundle(issued.certificateId!));
      await site.deploy(await bundle(successor));
      // The server's configuration breaks before the rollback (or not): its reload fails, and nothing proves what it serves.
      if (!reloads) writeFileSync(broken, '');
      // The Rollback task, then its replay (a retry, or the runner resuming after a crash).
      for (let run = 0; run < 2; run++) await rollbackTargets(issued.certificateId!, successor, ['web'], { id: execution }, deployment);
      expect((await deps.certificates.get(successor))!.targets).toEqual(reloads ? [] : ['web']);
      await abort({ ...state, error: { Error: 'StepError', Cause: 'verify: boom' }, failedStep: 'verify' }, deps);
    }
  });

  it('a revocation killed half way and recovered after a later keyCompromise revocation leaves keyCompromise (RFC 5280 5.3.1), in the inventory and the CRL', async () => {
    const issued = await requestCertificate(parseRequestInput({ commonName: 'leak.example.com' }, 'local'), { name: 'rita', role: 'requester' }, undefined, deps);
    const certificates = deps.certificates;
    // First attempt, reason superseded: the CA revoked, then the invocation died before the inventory update.
    deps.certificates = Object.assign(Object.create(certificates), { update: async () => { throw new Error('killed after the CA revoked'); } });
    await expect(revokeOne(issued.certificateId!, { reason: 'superseded' }, 'alice', deps)).rejects.toThrow(/killed/);
    deps.certificates = certificates;
    // Minutes later the key turns out leaked: the admin revokes again, keyCompromise. Succeeds and is announced.
    now = new Date(now.getTime() + 60_000);
    expect(await revokeOne(issued.certificateId!, { reason: 'keyCompromise' }, 'alice', deps)).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    // The AWS recover schedule, 15 minutes later.
    now = new Date(now.getTime() + 16 * 60_000);
    await recoverAnnouncements(ISSUANCE, issuanceProofs, new Date(now.getTime() - 15 * 60_000), deps);
    const cert = (await deps.certificates.get(issued.certificateId!))!;
    const crl = (await new DynamoRevocationStore(db.table).list('local')).find((r) => r.serialNumber === cert.serialNumber);
    expect(cert.revocationReason).toBe('keyCompromise');
    expect(crl?.reason).toBe('keyCompromise');
  });
});
