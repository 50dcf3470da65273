import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoCertificateStore } from '../adapters/dynamodb/certificate-store.ts';
import { EventBridgePublisher } from '../adapters/aws/eventbridge-publisher.ts';
import { StepFunctionsSagaStarter } from '../adapters/aws/step-functions-saga-starter.ts';
import { daysToExpiryRecorder } from '../adapters/metrics/embedded-metrics.ts';
import { sweepExpiring } from '../services/renewal/sweep.ts';
import { DEFAULT_RENEWAL_WINDOW as W, renewalWindowOpens } from '../shared/renewal-window.ts';
import { certificateLock } from '../shared/certificate-lock.ts';
import type { StoredCertificate } from '../shared/model.ts';
import { freshTable } from './support/dynamo.ts';

const DAY = 86_400_000;
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const start = Date.parse('2027-03-01T00:00:00Z');

function cert(id: string, lifetimeDays: number, daysLeft: number, extra: Partial<StoredCertificate> = {}): StoredCertificate {
  return {
    id, version: 3, commonName: `${id}.example.com`, subjectAlternativeNames: [`${id}.example.com`], emailAddresses: [], uris: [], subject: `CN=${id}.example.com`,
    issuer: 'CN=certops local intermediate CA', serialNumber: '01', notBefore: new Date(start + (daysLeft - lifetimeDays) * DAY).toISOString(),
    notAfter: new Date(start + daysLeft * DAY).toISOString(), fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa', keyAlgorithm: 'EC_P256', keyType: 'EC', curve: 'P256',
    signatureAlgorithm: 'ecdsa-with-SHA256', crlUrls: [], ocspUrls: [], caIssuersUrls: [], sctCount: 0, selfSigned: false, certificatePem: '', chainPem: '',
    status: 'active', source: 'issued', issuerBackend: 'local', targets: [], createdAt: new Date(start).toISOString(), ...extra,
  };
}

describe('the renewal sweep', () => {
  const events = mockClient(EventBridgeClient);
  const sfn = mockClient(SFNClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  let store: DynamoCertificateStore;
  beforeAll(async () => {
    db = await freshTable();
    store = new DynamoCertificateStore(db.table);
    for (const c of [
      cert('long', 365, 200),
      cert('in-window', 90, 25),
      cert('fortnight', 90, 13),
      cert('tomorrow', 90, 0.5),
      cert('gone', 90, -1),
      cert('short', 6, 1.5), // six-day certificate: its window opens at two thirds of its life (day 4)
      cert('found', 365, 10, { source: 'scan', status: 'discovered', issuerBackend: undefined }),
      cert('old', 90, 5, { status: 'superseded' }),
      // Ordered through certops' ACME server: the ACME client holds its key and renews it itself.
      cert('certbot', 90, 10, { requestedBy: 'acme:account-1' }),
    ]) await store.create(c);
  });
  afterAll(() => db.close());

  const run = async (at: number, locks?: { holder(resource: string): Promise<string | undefined> }, requests?: { get(id: string): Promise<any> }) => {
    events.reset();
    sfn.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn' });
    const metrics: string[] = [];
    const result = await sweepExpiring({
      clock: { now: () => new Date(at) },
      certificates: store,
      publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials }),
      saga: new StepFunctionsSagaStarter('arn:aws:states:eu-west-1:1:stateMachine:certops-test-renewal', { region: 'eu-west-1', credentials }),
      recordDaysToExpiry: daysToExpiryRecorder((l) => metrics.push(l), { now: () => new Date(at) }),
      locks,
      requests,
    }, { days: 30, atLifetimeFraction: 2 / 3 });
    const sent = events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail!) }));
    const starts = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    return { result, sent, starts, metrics };
  };

  let firstIds: string[] = [];

  it('alerts once per threshold, marks the expired, and starts a saga only for managed certificates in their window', async () => {
    const { result, sent, starts, metrics } = await run(start);
    firstIds = sent.filter((e) => e.type === 'certificate.expiring').map((e) => e.eventId).sort();
    const expiring = Object.fromEntries(sent.filter((e) => e.type === 'certificate.expiring').map((e) => [e.certificateId, e.threshold]));
    // The six-day certificate, 1.5 days before its end, is in its first band (a short life scales the bands: its last third).
    expect(expiring).toEqual({ 'in-window': 30, fortnight: 14, tomorrow: 1, short: 30, found: 14, certbot: 14 });
    expect(sent.filter((e) => e.type === 'certificate.expired').map((e) => e.certificateId)).toEqual(['gone']);
    expect(sent.find((e) => e.certificateId === 'fortnight').eventId).toBe('expiring:fortnight:14');
    expect(result.expired).toEqual(['gone']);
    expect((await store.get('gone'))?.status).toBe('expired');
    expect(starts.map((s) => JSON.parse(s.input!).certificateId).sort()).toEqual(['fortnight', 'in-window', 'short', 'tomorrow']);
    expect(starts[0].name).toMatch(/^renew-[\w-]+-20270301$/);
    // DaysToExpiry for managed certificates only, per certificate and in aggregate.
    const emf = metrics.map((m) => JSON.parse(m));
    expect(emf.map((m) => m.CertificateId).sort()).toEqual(['fortnight', 'gone', 'in-window', 'short', 'tomorrow']);
    expect(emf[0]._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'certops', Dimensions: [['CertificateId'], []], Metrics: [{ Name: 'DaysToExpiry', Unit: 'Count' }] });
  });

  it('sends each alert once: a sweep an hour later sends none again, and the next threshold when one is crossed', async () => {
    const again = await run(start + 3600_000);
    expect(again.sent.filter((e) => e.type === 'certificate.expiring')).toEqual([]);
    // The same day's execution names: Step Functions starts nothing new for them.
    expect(again.starts.map((s) => s.name).every((n) => n!.endsWith('-20270301'))).toBe(true);
    const later = await run(start + 6 * DAY);
    const thresholds = Object.fromEntries(later.sent.filter((e) => e.type === 'certificate.expiring').map((e) => [e.certificateId, e.threshold]));
    expect(thresholds['fortnight']).toBe(7);
    expect(thresholds).not.toHaveProperty('in-window');
    expect(firstIds).toContain('expiring:fortnight:14');
  });

  it('sends an alert whose publication failed at the next sweep', async () => {
    await store.create(cert('unlucky', 90, 20));
    events.reset();
    events.on(PutEventsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const sweep = sweepExpiring({ clock: { now: () => new Date(start + 7 * DAY) }, certificates: store, publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), saga: { start: async () => undefined } }, { days: 30, atLifetimeFraction: 2 / 3 });
    await expect(sweep).rejects.toThrow();
    const next = await run(start + 7 * DAY + 3600_000);
    expect(next.sent.filter((e) => e.certificateId === 'unlucky').map((e) => e.eventId)).toEqual(['expiring:unlucky:14']);
  });

  it('leaves a certificate whose lock is held (its first deployment still runs) for the next sweep', async () => {
    const { starts } = await run(start, { holder: async (resource) => (resource === certificateLock('in-window') ? 'issue-in-window' : undefined) });
    expect(starts.map((s) => JSON.parse(s.input!).certificateId)).not.toContain('in-window');
    expect(starts.length).toBeGreaterThan(0);
  });

  it('does not ask again each day for a renewal whose approval waits for an approver or was refused by one; a lapsed one is asked again (ops/21)', async () => {
    const requests: Record<string, object> = {
      'asked-waiting': { status: 'pending_approval' },
      'asked-refused': { status: 'rejected', decidedBy: 'alice' },
      'asked-lapsed': { status: 'rejected', decidedBy: 'expiry' },
    };
    for (const id of Object.keys(requests)) await store.create(cert(id, 90, 20, { renewalRequestId: id }));
    const { starts } = await run(start, undefined, { get: async (id) => requests[id] });
    expect(starts.map((s) => JSON.parse(s.input!).certificateId).filter((id) => id.startsWith('asked-'))).toEqual(['asked-lapsed']);
  });

  it('opens the window 30 days before expiry, never before two thirds of the lifetime (ops case 20: no renewal loop)', () => {
    expect(renewalWindowOpens('2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z', W).toISOString()).toBe('2027-03-02T00:00:00.000Z');
    expect(renewalWindowOpens('2027-01-01T00:00:00Z', '2027-01-07T00:00:00Z', W).toISOString()).toBe('2027-01-05T00:00:00.000Z');
    // 31 days: two thirds is day 20.67, later than 30 days before expiry (day 1).
    const opens = renewalWindowOpens('2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z', W);
    expect((opens.getTime() - Date.parse('2027-01-01T00:00:00Z')) / 86_400_000).toBeCloseTo(20.667, 2);
    // For every lifetime, a certificate serves at least two thirds of it before its window opens.
    for (const days of [1, 7, 29, 30, 31, 44, 45, 46, 90, 397]) {
      const end = new Date(Date.parse('2027-01-01T00:00:00Z') + days * 86_400_000).toISOString();
      expect(renewalWindowOpens('2027-01-01T00:00:00Z', end, W).getTime() - Date.parse('2027-01-01T00:00:00Z')).toBeGreaterThanOrEqual((days * 86_400_000 * 2) / 3 - 1);
    }
  });
});
