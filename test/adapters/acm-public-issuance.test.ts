import { ACMClient, DescribeCertificateCommand, GetCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAnnouncementLedger } from '../../adapters/dynamodb/announcement-ledger.ts';
import { AcmPublicAuthority } from '../../adapters/aws/acm-public-authority.ts';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
import { DynamoRequestLeases, DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { requestCertificate } from '../../services/issuance/request-certificate.ts';
import { completeValidations } from '../../services/issuance/issue-request.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { parseRequestInput } from '../../services/issuance/request-input.ts';
import { DEFAULT_POLICY } from '../../shared/policy.ts';
import { localVault } from '../support/vault.ts';
import { certificateKeysOnly } from '../../shared/certificate-key-vault.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshTable } from '../support/dynamo.ts';
import { makeChain } from '../support/pki.ts';
import { ISSUING_FUNCTIONS, recordedMock } from '../support/recorded-mock.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/public-1';

describe('public certificates from AWS Certificate Manager', () => {
  const acm = recordedMock(ACMClient, 'acm', ISSUING_FUNCTIONS);
  const events = mockClient(EventBridgeClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  let chain: Awaited<ReturnType<typeof makeChain>>;
  beforeAll(async () => {
    db = await freshTable();
    chain = await makeChain(['www.example.com']);
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  });
  afterAll(() => db.close());

  it('requests with DNS validation, keeps the records on the request, and issues once ACM reports it', async () => {
    acm.on(RequestCertificateCommand).resolves({ CertificateArn: ARN });
    const validation = [{ DomainName: 'www.example.com', ResourceRecord: { Name: '_x1.www.example.com.', Type: 'CNAME' as const, Value: '_y1.acm-validations.aws.' } }];
    acm.on(DescribeCertificateCommand)
      .resolvesOnce({ Certificate: { CertificateArn: ARN, Status: 'PENDING_VALIDATION', DomainValidationOptions: [{ DomainName: 'www.example.com' }] } })
      .resolvesOnce({ Certificate: { CertificateArn: ARN, Status: 'PENDING_VALIDATION', DomainValidationOptions: validation } })
      .resolvesOnce({ Certificate: { CertificateArn: ARN, Status: 'PENDING_VALIDATION', DomainValidationOptions: validation } })
      .resolves({ Certificate: { CertificateArn: ARN, Status: 'ISSUED', DomainValidationOptions: validation } });
    acm.on(GetCertificateCommand).resolves({ Certificate: chain.leaf.pem, CertificateChain: chain.intermediate.pem });
    // ACM keeps its key; the one certops makes while the request is signed waits in the vault and is dropped after.
    const vault = certificateKeysOnly(await localVault(db.table, mkdtempSync(join(tmpdir(), 'certops-acm-'))));
    const ca = new AcmPublicAuthority('public', new ACMClient({ region: 'us-east-1', credentials }), 3, async () => undefined);
    const requests = new DynamoRequestStore(db.table);
    const certificates = new DynamoCertificateStore(db.table);
    let n = 0;
    const deps = {
      clock: { now: () => new Date() }, newId: () => `req-${++n}`, requests, certificates, policy: DEFAULT_POLICY, ownership: [], locks: new DynamoLockStore(db.table, { now: () => new Date() }), requestLeases: new DynamoRequestLeases(db.table, { now: () => new Date() }),
      publisher: new EventBridgePublisher('certops-test', { region: 'us-east-1', credentials }),
      announcements: new DynamoAnnouncementLedger(db.table),
      keyVault: async () => vault,
      authority: async () => ca,
    };
    const answer = await requestCertificate(parseRequestInput({ commonName: 'www.example.com', issuer: 'public' }, 'local'), { name: 'rita', role: 'requester' }, undefined, { ...deps, targets: { get: async () => undefined } });
    expect(answer).toMatchObject({ status: 'pending_validation', validationRecords: [{ name: '_x1.www.example.com.', type: 'CNAME', value: '_y1.acm-validations.aws.' }] });
    expect(acm.commandCalls(RequestCertificateCommand)[0].args[0].input).toMatchObject({ DomainName: 'www.example.com', ValidationMethod: 'DNS', KeyAlgorithm: 'EC_prime256v1' });
    expect(await requests.awaitingValidation()).toHaveLength(1);

    expect(await completeValidations(deps)).toEqual({ issued: [], rejected: [], failed: [], pending: 1 });
    expect(await completeValidations(deps)).toEqual({ issued: ['req-1'], rejected: [], failed: [], pending: 0 });
    expect(await requests.get('req-1')).toMatchObject({ status: 'issued', validationReference: ARN });
    expect(await requests.awaitingValidation()).toHaveLength(0);
    const issued = events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).filter((e) => e.DetailType === 'certificate.issued');
    expect(issued).toHaveLength(1);
    expect(JSON.parse(issued[0].Detail!)).toMatchObject({ acmArn: ARN, issuerBackend: 'public', requestId: 'req-1' });
    // The inventory record is written by issuance itself, before the event: ACM keeps the key.
    const stored = await certificates.get(String((await requests.get('req-1'))!.certificateId));
    expect(stored).toMatchObject({ status: 'active', source: 'issued', issuerBackend: 'public', acmArns: [ARN], requestId: 'req-1' });
    expect(stored!.keyRef).toBeUndefined();
    await expect(ca.revoke()).rejects.toMatchObject({ status: 409 });
  });

  it('a CA that refuses one request rejects that request with its reason, and the sweep carries on with the rest', async () => {
    const FAILED = 'arn:aws:acm:us-east-1:123456789012:certificate/public-failed';
    const GOOD = 'arn:aws:acm:us-east-1:123456789012:certificate/public-good';
    acm.reset();
    acm.on(RequestCertificateCommand, { DomainName: 'bad.example.com' }).resolves({ CertificateArn: FAILED });
    acm.on(RequestCertificateCommand, { DomainName: 'good.example.com' }).resolves({ CertificateArn: GOOD });
    const records = (name: string) => [{ DomainName: name, ResourceRecord: { Name: `_x.${name}.`, Type: 'CNAME' as const, Value: '_y.acm-validations.aws.' } }];
    acm.on(DescribeCertificateCommand, { CertificateArn: FAILED }).resolvesOnce({ Certificate: { CertificateArn: FAILED, Status: 'PENDING_VALIDATION', DomainValidationOptions: records('bad.example.com') } })
      .resolves({ Certificate: { CertificateArn: FAILED, Status: 'FAILED', FailureReason: 'CAA_ERROR', DomainValidationOptions: records('bad.example.com') } });
    acm.on(DescribeCertificateCommand, { CertificateArn: GOOD }).resolvesOnce({ Certificate: { CertificateArn: GOOD, Status: 'PENDING_VALIDATION', DomainValidationOptions: records('good.example.com') } })
      .resolves({ Certificate: { CertificateArn: GOOD, Status: 'ISSUED', DomainValidationOptions: records('good.example.com') } });
    acm.on(GetCertificateCommand).resolves({ Certificate: chain.leaf.pem, CertificateChain: chain.intermediate.pem });
    const vault = certificateKeysOnly(await localVault(db.table, mkdtempSync(join(tmpdir(), 'certops-acm-'))));
    const ca = new AcmPublicAuthority('public', new ACMClient({ region: 'us-east-1', credentials }), 3, async () => undefined);
    const requests = new DynamoRequestStore(db.table);
    let n = 0;
    const deps = {
      clock: { now: () => new Date() }, newId: () => `sweep-${++n}`, requests, certificates: new DynamoCertificateStore(db.table), policy: DEFAULT_POLICY, ownership: [], locks: new DynamoLockStore(db.table, { now: () => new Date() }), requestLeases: new DynamoRequestLeases(db.table, { now: () => new Date() }),
      publisher: new EventBridgePublisher('certops-test', { region: 'us-east-1', credentials }), announcements: new DynamoAnnouncementLedger(db.table), keyVault: async () => vault, authority: async () => ca,
    };
    for (const name of ['bad.example.com', 'good.example.com']) await requestCertificate(parseRequestInput({ commonName: name, issuer: 'public' }, 'local'), { name: 'rita', role: 'requester' }, undefined, { ...deps, targets: { get: async () => undefined } });
    expect(await completeValidations(deps)).toMatchObject({ issued: ['sweep-2'], rejected: ['sweep-1'], failed: [], pending: 0 });
    expect(await requests.get('sweep-1')).toMatchObject({ status: 'rejected', decidedBy: 'issuer', reasons: [expect.stringMatching(/FAILED \(CAA_ERROR\)/)] });
    const rejected = events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).filter((e) => e.DetailType === 'request.rejected').map((e) => JSON.parse(e.Detail!));
    expect(rejected).toEqual([expect.objectContaining({ requestId: 'sweep-1', decidedBy: 'issuer' })]);
  });
});
