import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
import { StepFunctionsSagaStarter } from '../../adapters/aws/step-functions-saga-starter.ts';
import { retryAfterMs } from '../../shared/retry-after.ts';
import { sweepExpiring } from '../../services/renewal/sweep.ts';
import { certificateView } from '../../services/inventory/certificate-view.ts';
import { ariCertId, askAgainAfter, readSuggestedWindow, renewalInfo, type SuggestedWindow } from '../../shared/ari.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import { DEFAULT_RENEWAL_WINDOW } from '../../shared/renewal-window.ts';
import { freshTable } from '../support/dynamo.ts';

const DAY = 86_400_000;
const NOW = new Date('2027-03-01T00:00:00Z');

describe('ACME Renewal Information, read and kept (RFC 9773)', () => {
  it('names a certificate by its authority key identifier and serial, as RFC 9773 4.1\'s example does', () => {
    const cert = { serialBytes: Uint8Array.from([0x00, 0x87, 0x65, 0x43, 0x21]), extensions: { authorityKeyId: '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4' } } as never;
    expect(ariCertId(cert)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
    expect(() => ariCertId({ serialBytes: Uint8Array.from([1]), extensions: {} } as never)).toThrow(ValidationError);
  });

  it('picks a moment in the window and keeps it while the window holds it; a window moved forward gets a new one; a window past its end means now (4.2)', () => {
    const window = (startDays: number, endDays: number): SuggestedWindow => ({ start: new Date(NOW.getTime() + startDays * DAY), end: new Date(NOW.getTime() + endDays * DAY), retryAfterSeconds: 21_600 });
    const first = renewalInfo(undefined, window(40, 50), NOW, 0.5);
    expect(first.renewAt).toBe(new Date(NOW.getTime() + 45 * DAY).toISOString());
    expect(first.checkAfter).toBe(new Date(NOW.getTime() + 6 * 3600_000).toISOString());
    // The same window asked again: the same moment, not a new throw of the dice.
    expect(renewalInfo(first, window(40, 50), NOW, 0.9).renewAt).toBe(first.renewAt);
    // A mass revocation: the window moves to tomorrow.
    const moved = renewalInfo(first, window(1, 2), NOW, 0);
    expect(moved.renewAt).toBe(new Date(NOW.getTime() + 1 * DAY).toISOString());
    expect(renewalInfo(moved, window(-3, -1), NOW, 0.5).renewAt).toBe(NOW.toISOString());
  });

  it('reads Retry-After in both forms and asks again between an hour and a day later (RFC 9110 10.2.3; RFC 9773 4.3.1)', () => {
    expect(retryAfterMs('21600', NOW.getTime())).toBe(21_600_000);
    expect(retryAfterMs(new Date(NOW.getTime() + 7200_000).toUTCString(), NOW.getTime())).toBe(7_200_000);
    expect(retryAfterMs('soon', NOW.getTime())).toBeUndefined();
    expect(askAgainAfter(NOW, 5).getTime() - NOW.getTime()).toBe(3600_000);
    expect(askAgainAfter(NOW, 10 * 86_400).getTime() - NOW.getTime()).toBe(86_400_000);
    expect(askAgainAfter(NOW, undefined).getTime() - NOW.getTime()).toBe(6 * 3600_000);
  });

  it('refuses a renewalInfo answer without a proper window, naming renewalInfo', () => {
    for (const body of [{}, { suggestedWindow: { start: 'x', end: 'y' } }, { suggestedWindow: { start: '2027-03-02T00:00:00Z', end: '2027-03-01T00:00:00Z' } }]) {
      expect(() => readSuggestedWindow(body, 60)).toThrow(expect.objectContaining({ field: 'renewalInfo' }));
    }
    expect(readSuggestedWindow({ suggestedWindow: { start: '2027-03-01T00:00:00Z', end: '2027-03-02T00:00:00Z' }, explanationURL: 'https://ca.example/incident' }, 60)).toMatchObject({ explanationUrl: 'https://ca.example/incident', retryAfterSeconds: 60 });
  });
});

describe('the renewal sweep with ACME Renewal Information', () => {
  const events = mockClient(EventBridgeClient);
  const sfn = mockClient(SFNClient);
  const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
  let db: Awaited<ReturnType<typeof freshTable>>;
  let store: DynamoCertificateStore;
  const cert = (id: string, daysLeft: number, issuerBackend: string): StoredCertificate => ({
    id, version: 3, commonName: `${id}.example.test`, subjectAlternativeNames: [`${id}.example.test`], emailAddresses: [], uris: [], subject: `CN=${id}.example.test`,
    issuer: 'CN=Pebble Intermediate CA', serialNumber: '01', notBefore: new Date(NOW.getTime() + (daysLeft - 90) * DAY).toISOString(), notAfter: new Date(NOW.getTime() + daysLeft * DAY).toISOString(),
    fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa', keyAlgorithm: 'EC_P256', keyType: 'EC', curve: 'P256', signatureAlgorithm: 'ecdsa-with-SHA256', crlUrls: [], ocspUrls: [], caIssuersUrls: [],
    sctCount: 0, selfSigned: false, certificatePem: `pem of ${id}`, chainPem: '', status: 'active', source: 'issued', issuerBackend, targets: [], createdAt: NOW.toISOString(),
  });
  // What the CA says of each certificate: a window in days from now, per certificate.
  const windows = new Map<string, [number, number]>();
  const asked: string[] = [];
  const failing = new Set<string>();
  let elapsedMs = 0;

  beforeAll(async () => {
    db = await freshTable();
    store = new DynamoCertificateStore(db.table);
    for (const c of [cert('revoked-soon', 60, 'pebble'), cert('calm', 60, 'pebble'), cert('no-ari', 60, 'pebble'), cert('built-in', 60, 'local'), cert('late', 5, 'pebble')]) await store.create(c);
  });
  afterAll(() => db.close());

  const sweep = async (at: Date) => {
    events.reset();
    sfn.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn' });
    asked.length = 0;
    await sweepExpiring({
      clock: { now: () => at }, certificates: store,
      publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials }),
      saga: new StepFunctionsSagaStarter('arn:aws:states:eu-west-1:1:stateMachine:certops-test-renewal', { region: 'eu-west-1', credentials }),
      ari: {
        horizonDays: 100, random: () => 0.5, warn: () => undefined, budgetMs: 60_000, elapsedMs: () => elapsedMs,
        ask: async (c) => {
          asked.push(c.id);
          if (failing.has(c.id)) throw new Error('the CA is down');
          const w = windows.get(c.id);
          return w && { start: new Date(NOW.getTime() + w[0] * DAY), end: new Date(NOW.getTime() + w[1] * DAY), retryAfterSeconds: 21_600 };
        },
      },
    }, DEFAULT_RENEWAL_WINDOW);
    return sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input!).certificateId).sort();
  };

  it('renews when the CA\'s window says, before the default window: a window moved forward is acted on in the next sweep, and the CA is asked again only after its Retry-After', async () => {
    windows.set('revoked-soon', [10, 20]);
    windows.set('calm', [10, 20]);
    // The CA suggests a window after the certificate expires: the default window, open already, wins.
    windows.set('late', [1000, 1100]);
    // 60 days left of 90: the default window opens in 30 days, the CA's moment in 15.
    expect(await sweep(NOW)).toEqual(['late']);
    expect(asked.sort()).toEqual(['built-in', 'calm', 'late', 'no-ari', 'revoked-soon']);
    expect((await store.get('calm'))!.renewalInfo).toMatchObject({ renewAt: new Date(NOW.getTime() + 15 * DAY).toISOString() });
    const shown = certificateView((await store.get('calm'))!, NOW, [], [], DEFAULT_RENEWAL_WINDOW);
    expect(shown).toMatchObject({ renewalDueAt: new Date(NOW.getTime() + 15 * DAY).toISOString(), renewalDueSource: 'ca-ari' });
    expect(certificateView((await store.get('no-ari'))!, NOW, [], [], DEFAULT_RENEWAL_WINDOW)).toMatchObject({ renewalDueAt: new Date(NOW.getTime() + 30 * DAY).toISOString(), renewalDueSource: 'default-window' });
    expect(certificateView((await store.get('late'))!, NOW, [], [], DEFAULT_RENEWAL_WINDOW)).toMatchObject({ renewalDueSource: 'default-window' });
    // One an ACME client ordered from certops' ACME server is the client's to renew: no date is shown.
    expect(certificateView({ ...(await store.get('no-ari'))!, requestedBy: 'acme:account-1' }, NOW, [], [], DEFAULT_RENEWAL_WINDOW)).not.toHaveProperty('renewalDueAt');
    // An hour later those with an answer are not asked again (the CA said six hours); only those without one are.
    const hour = new Date(NOW.getTime() + 3600_000);
    expect(await sweep(hour)).toEqual(['late']);
    expect(asked.sort()).toEqual(['built-in', 'no-ari']);
    // The CA moves one window to now (a mass revocation): the first sweep past the Retry-After renews it.
    windows.set('revoked-soon', [-1, 1]);
    expect(await sweep(new Date(NOW.getTime() + 7 * 3600_000))).toEqual(['late', 'revoked-soon']);
  });

  it('keeps what a failing CA said last and asks it an hour later, and asks no CA once the sweep\'s time for it is spent', async () => {
    failing.add('calm');
    await sweep(new Date(NOW.getTime() + 14 * 3600_000));
    expect(asked).toContain('calm');
    const kept = (await store.get('calm'))!.renewalInfo!;
    expect(kept.renewAt).toBe(new Date(NOW.getTime() + 15 * DAY).toISOString());
    expect(kept.checkAfter).toBe(new Date(NOW.getTime() + 15 * 3600_000).toISOString());
    await sweep(new Date(NOW.getTime() + 14.5 * 3600_000));
    expect(asked).not.toContain('calm');
    elapsedMs = 61_000;
    await sweep(new Date(NOW.getTime() + 30 * 3600_000));
    expect(asked).toEqual([]);
  });
});
