import { randomBytes } from 'node:crypto';
import { ACMPCAClient, GetCertificateAuthorityCertificateCommand, GetCertificateCommand, IssueCertificateCommand, RevokeCertificateCommand } from '@aws-sdk/client-acm-pca';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcmPcaAuthority } from '../../adapters/aws/acm-pca-authority.ts';
import { KmsDataKeys } from '../../adapters/aws/kms-data-keys.ts';
import { SealedKeyVault } from '../../adapters/vault/sealed-key-vault.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { freshTable } from '../support/dynamo.ts';
import { makeChain } from '../support/pki.ts';
import { ISSUING_FUNCTIONS, recordedMock } from '../support/recorded-mock.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const CA = 'arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/11111111-2222-3333-4444-555555555555';
const CERT = `${CA}/certificate/abc`;

describe('AWS Private CA behind the CertificateAuthority port', () => {
  // The registry's newest client-acm-pca (3.523) predates the shared Smithy types the mock library expects: same runtime, older typings.
  const pca = recordedMock(ACMPCAClient as never, 'acm-pca', ISSUING_FUNCTIONS) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  let material: Awaited<ReturnType<typeof newKeyAndCsr>>;
  let chain: Awaited<ReturnType<typeof makeChain>>;
  const sleeps: number[] = [];
  const authority = (waitAttempts = 5) => new AcmPcaAuthority('corp-pca', new ACMPCAClient({ region: 'eu-west-1', credentials }), { certificateAuthorityArn: CA, waitAttempts, waitDelayMs: 100, sleep: async (ms) => void sleeps.push(ms) });
  const input = () => ({ ...material, commonName: 'svc.corp.example', subjectAlternativeNames: ['svc.corp.example'], validityDays: 30, profile: 'tls-server' as const });

  beforeAll(async () => {
    material = await newKeyAndCsr('EC_P256', 'svc.corp.example', ['svc.corp.example']);
    chain = await makeChain(['svc.corp.example']);
  });
  beforeEach(() => {
    pca.reset();
    sleeps.length = 0;
  });

  it('sends the CSR with template, validity and an idempotency token, then waits for the certificate with backoff', async () => {
    pca.on(IssueCertificateCommand).resolves({ CertificateArn: CERT });
    pca.on(GetCertificateCommand)
      .rejectsOnce(Object.assign(new Error('still signing'), { name: 'RequestInProgressException' }))
      .rejectsOnce(Object.assign(new Error('still signing'), { name: 'RequestInProgressException' }))
      .resolves({ Certificate: chain.leaf.pem, CertificateChain: chain.intermediate.pem + chain.root.pem });
    const out = await authority().issue(input());
    expect(out.certificatePem).toBe(chain.leaf.pem);
    expect(out.chainPem).toBe(chain.intermediate.pem + chain.root.pem);
    const [call] = pca.commandCalls(IssueCertificateCommand) as { args: [{ input: Record<string, any> }] }[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const sent = call.args[0].input;
    expect(Buffer.from(sent.Csr as Uint8Array).toString()).toBe(material.csrPem);
    expect(sent).toMatchObject({ CertificateAuthorityArn: CA, TemplateArn: 'arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1', Validity: { Value: 30, Type: 'DAYS' }, SigningAlgorithm: 'SHA256WITHECDSA' });
    expect(sent.IdempotencyToken).toMatch(/^[0-9a-f]{36}$/);
    expect(sleeps).toEqual([100, 200]);
    // A retry of the same request carries the same token, so Private CA issues once.
    await authority().issue(input());
    expect(pca.commandCalls(IssueCertificateCommand)[1].args[0].input.IdempotencyToken).toBe(sent.IdempotencyToken);
  });

  it('gives up after a bounded wait with a transient error, and passes on refusals', async () => {
    pca.on(IssueCertificateCommand).resolves({ CertificateArn: CERT });
    pca.on(GetCertificateCommand).rejects(Object.assign(new Error('still signing'), { name: 'RequestInProgressException' }));
    await expect(authority(3).issue(input())).rejects.toMatchObject({ name: 'TransientError', message: expect.stringMatching(/after 3 checks/) });
    expect(sleeps).toEqual([100, 200, 400]);
    pca.reset();
    pca.on(IssueCertificateCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' }));
    await expect(authority().issue(input())).rejects.toMatchObject({ name: 'LimitExceededException' });
  });

  it('revokes with the RFC 5280 reason mapped, treats already-revoked as done, and serves the CA chain', async () => {
    pca.on(RevokeCertificateCommand).resolvesOnce({}).rejects(Object.assign(new Error('already'), { name: 'RequestAlreadyProcessedException' }));
    await authority().revoke('7F:A1:00:01', 'keyCompromise');
    await authority().revoke('7F:A1:00:01', 'keyCompromise');
    expect(pca.commandCalls(RevokeCertificateCommand)[0].args[0].input).toEqual({ CertificateAuthorityArn: CA, CertificateSerial: '7f:a1:00:01', RevocationReason: 'KEY_COMPROMISE' });
    pca.on(GetCertificateAuthorityCertificateCommand).resolves({ Certificate: chain.intermediate.pem, CertificateChain: chain.root.pem });
    expect(await authority().chainPem()).toBe(`${chain.intermediate.pem.trim()}\n${chain.root.pem.trim()}\n`);
  });
});

describe('the KMS key vault', () => {
  const kms = mockClient(KMSClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  const wrapped = new Map<string, { plaintext: Buffer; context: string }>();

  beforeAll(async () => {
    db = await freshTable();
    kms.on(GenerateDataKeyCommand).callsFake((input) => {
      const plaintext = randomBytes(32);
      const blob = randomBytes(48);
      wrapped.set(blob.toString('hex'), { plaintext, context: JSON.stringify(input.EncryptionContext) });
      return { Plaintext: Uint8Array.from(plaintext), CiphertextBlob: blob, KeyId: input.KeyId };
    });
    kms.on(DecryptCommand).callsFake((input) => {
      const entry = wrapped.get(Buffer.from(input.CiphertextBlob).toString('hex'));
      if (!entry || entry.context !== JSON.stringify(input.EncryptionContext)) throw Object.assign(new Error('bad context'), { name: 'InvalidCiphertextException' });
      return { Plaintext: Uint8Array.from(entry.plaintext) };
    });
  });
  afterAll(() => db.close());

  it('stores keys only sealed, opens them with KMS, and binds each to its reference', async () => {
    const vault = new SealedKeyVault(db.table, new KmsDataKeys(new KMSClient({ region: 'eu-west-1', credentials }), 'alias/certops'));
    const { keyPem } = await newKeyAndCsr('EC_P256', 'k.example.com', ['k.example.com']);
    await vault.put('cert/abc', keyPem);
    const item = (await db.table.doc.send(new GetCommand({ TableName: db.table.name, Key: { pk: 'KEY#cert/abc', sk: 'KEY' } }))).Item!;
    const stored = JSON.stringify(item);
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain(keyPem.split('\n')[1].slice(0, 24));
    expect(await vault.get('cert/abc')).toBe(keyPem);
    expect(kms.commandCalls(GenerateDataKeyCommand)[0].args[0].input).toMatchObject({ KeyId: 'alias/certops', KeySpec: 'AES_256', EncryptionContext: { keyRef: 'cert/abc' } });
    // The sealed key copied under another reference does not open.
    await db.table.doc.send(new (await import('@aws-sdk/lib-dynamodb')).PutCommand({ TableName: db.table.name, Item: { ...item, pk: 'KEY#cert/other' } }));
    await expect(vault.get('cert/other')).rejects.toThrow(/bad context/);
    await expect(vault.get('cert/missing')).rejects.toMatchObject({ status: 404 });
  });
});
