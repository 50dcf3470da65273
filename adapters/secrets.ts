import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ValidationError } from '../shared/errors.ts';

/**
 * A secret named in configuration: `env:NAME` (or a bare NAME) reads the environment,
 * `secretsmanager:ARN-or-name` reads AWS Secrets Manager (its client loaded only then: most
 * configurations name none). Secrets are never stored in the table.
 */
export async function resolveSecret(ref: string, field: string, environment: NodeJS.ProcessEnv, secretsManager: () => Promise<SecretsManagerClient>): Promise<string> {
  if (ref.startsWith('secretsmanager:')) {
    const id = ref.slice('secretsmanager:'.length);
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const out = await (await secretsManager()).send(new GetSecretValueCommand({ SecretId: id }));
    if (!out.SecretString) throw new ValidationError(`${field}: the secret ${id} has no string value`, field);
    return out.SecretString;
  }
  const name = ref.replace(/^env:/, '');
  const value = environment[name];
  if (!value) throw new ValidationError(`${field}: ${name} is not set in the environment`, field);
  return value;
}
