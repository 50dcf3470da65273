import { ACMClient, DescribeCertificateCommand, GetCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmCertificates } from '../../adapters/aws/acm-certificates.ts';
import { EventBridgePublisher } from '../../adapters/aws/eventbridge-publisher.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { syncAcm } from '../../services/inventory/sync-acm.ts';
import { certificateId } from '../../shared/x509/certificate-record.ts';
import { freshTable } from '../support/dynamo.ts';
import { makeChain, type TestCert } from '../support/pki.ts';
import { recordedMock } from '../support/recorded-mock.ts';

describe('AWS Certificate Manager as an inventory source', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  let certs: TestCert[];
  let chainPem: string;
  const acm = recordedMock(ACMClient, 'acm', ['inventoryApi', 'inventoryAcmSync']);
  const events = mockClient(EventBridgeClient);
  const arn = (n: number) => `arn:aws:acm:eu-west-1:123456789012:certificate/0000000${n}`;

  beforeAll(async () => {
    db = await freshTable();
    const a = await makeChain(['lb.example.com']);
    const b = await makeChain(['cdn.example.com']);
    certs = [a.leaf, b.leaf];
    chainPem = a.intermediate.pem;
  });
  afterAll(() => db.close());

  function answer(pems: Record<string, string>) {
    acm.reset();
    acm.on(ListCertificatesCommand, { NextToken: undefined }).resolves({ CertificateSummaryList: [{ CertificateArn: arn(1) }, { CertificateArn: arn(2) }], NextToken: 'page-2' });
    acm.on(ListCertificatesCommand, { NextToken: 'page-2' }).resolves({ CertificateSummaryList: [{ CertificateArn: arn(3) }] });
    acm.on(DescribeCertificateCommand).callsFake((input) => ({ Certificate: { CertificateArn: input.CertificateArn, InUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1'] } }));
    acm.on(GetCertificateCommand).callsFake((input) => ({ Certificate: pems[input.CertificateArn], CertificateChain: chainPem }));
    events.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  }

  const deps = () => ({
    clock: { now: () => new Date() },
    certificates: new DynamoCertificateStore(db.table),
    ownership: [{ domain: 'example.com', environment: 'prod', owner: 'team-edge' }],
    publisher: new EventBridgePublisher('certops-test', { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  });

  it('pages through ListCertificates asking for every key type, records each certificate with its ARN, and skips broken ones', async () => {
    answer({ [arn(1)]: certs[0].pem, [arn(2)]: certs[1].pem, [arn(3)]: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' });
    const client = new ACMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const result = await syncAcm('eu-west-1', acmCertificates(client), deps());
    expect(result).toMatchObject({ region: 'eu-west-1', certificates: 2, newCertificates: 2 });
    expect(result.rejected).toEqual([{ arn: arn(3), reason: expect.stringMatching(/arn:aws:acm.*00000003/) }]);

    const lists = acm.commandCalls(ListCertificatesCommand).map((c) => c.args[0].input);
    expect(lists).toHaveLength(2);
    expect(lists[0].Includes?.keyTypes).toEqual(expect.arrayContaining(['RSA_2048', 'EC_prime256v1', 'EC_secp384r1']));
    expect(lists[1].NextToken).toBe('page-2');
    expect(acm.commandCalls(GetCertificateCommand)).toHaveLength(3);

    const stored = await deps().certificates.get(certificateId(certs[0].der));
    expect(stored).toMatchObject({ source: 'acm', status: 'discovered', acmArns: [arn(1)], environment: 'prod', owner: 'team-edge', chainPem });
    const put = events.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(put.filter((e) => e.DetailType === 'certificate.discovered').map((e) => JSON.parse(e.Detail!).discoverySource)).toEqual(['acm', 'acm']);
  });

  it('adds nothing on a repeated sync, and merges a second ARN for the same certificate', async () => {
    answer({ [arn(1)]: certs[0].pem, [arn(2)]: certs[1].pem, [arn(3)]: certs[0].pem });
    const client = new ACMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const result = await syncAcm('eu-west-1', acmCertificates(client), deps());
    expect(result).toMatchObject({ certificates: 3, newCertificates: 0, rejected: [] });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect((await deps().certificates.get(certificateId(certs[0].der)))?.acmArns).toEqual([arn(1), arn(3)]);
  });

  it('surfaces ACM errors instead of half-syncing silently', async () => {
    acm.reset();
    acm.on(ListCertificatesCommand).rejects(Object.assign(new Error('User is not authorized to perform acm:ListCertificates'), { name: 'AccessDeniedException' }));
    const client = new ACMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await expect(syncAcm('eu-west-1', acmCertificates(client), deps())).rejects.toThrow(/not authorized/);
  });
});
