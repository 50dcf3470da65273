import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { AcmTarget } from '../../adapters/targets/acm-target.ts';
import { SecretsManagerTarget } from '../../adapters/targets/secrets-manager-target.ts';
import { DEPLOYING_FUNCTIONS, recordedMock } from '../support/recorded-mock.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const bundle = (n: number) => ({ certificatePem: `-----BEGIN CERTIFICATE-----\nCERT${n}\n-----END CERTIFICATE-----\n`, chainPem: `-----BEGIN CERTIFICATE-----\nCHAIN${n}\n-----END CERTIFICATE-----\n`, privateKeyPem: `-----BEGIN PRIVATE KEY-----\nKEY${n}\n-----END PRIVATE KEY-----\n` });
const ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/imported-1';

describe('AWS deployment targets', () => {
  const acm = recordedMock(ACMClient, 'acm', DEPLOYING_FUNCTIONS);
  const sm = recordedMock(SecretsManagerClient, 'secretsmanager', DEPLOYING_FUNCTIONS);
  beforeEach(() => {
    acm.reset();
    sm.reset();
  });

  it('ACM: the first import creates the certificate, every later one (renewal, rollback) re-imports into the same ARN', async () => {
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });
    const remembered: string[] = [];
    const target = new AcmTarget(new ACMClient({ region: 'eu-west-1', credentials }), undefined, async (arn) => void remembered.push(arn));
    await target.deploy(bundle(1));
    await target.deploy(bundle(2));
    expect(await target.rollback('', bundle(1))).toBe(true);
    const calls = acm.commandCalls(ImportCertificateCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.CertificateArn)).toEqual([undefined, ARN, ARN]);
    // Tagged on its first import only (the IAM policy lets certops import again over what carries the tag).
    expect(calls.map((c) => c.Tags)).toEqual([[{ Key: 'certops:managed', Value: 'true' }], undefined, undefined]);
    expect(Buffer.from(calls[1].Certificate as Uint8Array).toString()).toContain('CERT2');
    expect(Buffer.from(calls[1].PrivateKey as Uint8Array).toString()).toContain('KEY2');
    expect(Buffer.from(calls[1].CertificateChain as Uint8Array).toString()).toContain('CHAIN2');
    expect(Buffer.from(calls[2].Certificate as Uint8Array).toString()).toContain('CERT1');
    expect(remembered).toEqual([ARN]);
  });

  it('ACM: a refused import fails the deployment', async () => {
    acm.on(ImportCertificateCommand).rejects(Object.assign(new Error('The certificate field contains more than one certificate'), { name: 'ValidationException' }));
    const target = new AcmTarget(new ACMClient({ region: 'eu-west-1', credentials }), ARN, async () => undefined);
    await expect(target.deploy(bundle(1))).rejects.toThrow(/more than one certificate/);
  });

  it('Secrets Manager: puts certificate, chain and key in one secret, creating it the first time', async () => {
    sm.on(PutSecretValueCommand).rejectsOnce(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' })).resolves({});
    sm.on(CreateSecretCommand).resolves({});
    const target = new SecretsManagerTarget(new SecretsManagerClient({ region: 'eu-west-1', credentials }), 'certops/prod/targets/web/tls');
    await target.deploy(bundle(1));
    await target.deploy(bundle(2));
    await target.rollback('', bundle(1));
    const created = sm.commandCalls(CreateSecretCommand)[0].args[0].input;
    expect(created.Name).toBe('certops/prod/targets/web/tls');
    expect(JSON.parse(created.SecretString!)).toEqual({ certificate: bundle(1).certificatePem, chain: bundle(1).chainPem, privateKey: bundle(1).privateKeyPem });
    const puts = sm.commandCalls(PutSecretValueCommand).map((c) => JSON.parse(c.args[0].input.SecretString!).certificate);
    expect(puts).toEqual([bundle(1).certificatePem, bundle(2).certificatePem, bundle(1).certificatePem]);
    expect(sm.commandCalls(PutSecretValueCommand).every((c) => c.args[0].input.SecretId === 'certops/prod/targets/web/tls')).toBe(true);
  });
});
