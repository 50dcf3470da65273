import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { resolveSecret } from '../../adapters/secrets.ts';
import { recordedMock } from '../support/recorded-mock.ts';

describe('SIEM secrets', () => {
  const sm = recordedMock(SecretsManagerClient, 'secretsmanager', ['siemExportApi', 'siemExportFlush', 'siemExportEvents']);
  const client = async () => new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

  it('come from the environment or from Secrets Manager, and a missing one is a clear error', async () => {
    expect(await resolveSecret('env:HEC_TOKEN', 'siem.sinks.splunk', { HEC_TOKEN: 'abc' }, client)).toBe('abc');
    expect(await resolveSecret('HEC_TOKEN', 'siem.sinks.splunk', { HEC_TOKEN: 'abc' }, client)).toBe('abc');
    await expect(resolveSecret('env:NOPE', 'siem.sinks.splunk', {}, client)).rejects.toMatchObject({ field: 'siem.sinks.splunk', message: expect.stringMatching(/NOPE is not set/) });
    sm.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:certops/prod/credentials/siem/hec' }).resolves({ SecretString: 'from-sm' });
    expect(await resolveSecret('secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:certops/prod/credentials/siem/hec', 'siem.sinks.splunk', {}, client)).toBe('from-sm');
  });
});
