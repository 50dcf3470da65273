import { ValidationError } from '../../shared/errors.ts';
import { asObject, oneOf, optionalString, requiredString } from '../../shared/input.ts';
import type { Target } from '../../shared/model.ts';
import { awsRegion } from '../../shared/aws-region.ts';

const TYPES = ['filesystem', 'webhook', 'acm', 'secretsmanager'] as const;

/** A target registration (`POST /targets`), checked field by field. */
export function parseTarget(body: unknown): Target {
  const obj = asObject(body);
  const name = requiredString(obj, 'name', 64);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ValidationError('name may hold letters, digits, dot, dash and underscore only', 'name');
  const type = oneOf(obj, 'type', TYPES, 'filesystem');
  const endpoint = optionalString(obj, 'endpoint', 300);
  if (endpoint && !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(endpoint)) throw new ValidationError('endpoint must be host:port', 'endpoint');
  const common = { name, type, endpoint, serverName: optionalString(obj, 'serverName', 253) };
  switch (type) {
    case 'filesystem': {
      const directory = requiredString(obj, 'directory', 1024);
      if (!directory.startsWith('/')) throw new ValidationError('directory must be an absolute path', 'directory');
      return { ...common, directory, reloadCommand: optionalString(obj, 'reloadCommand', 1024) };
    }
    case 'webhook': {
      const url = requiredString(obj, 'url', 2048);
      if (!/^https:\/\/[^/]+/.test(url)) throw new ValidationError('url must be an https:// URL: the document carries the private key', 'url');
      const secretEnv = requiredString(obj, 'secretEnv', 128);
      if (!/^[A-Z_][A-Z0-9_]*$/.test(secretEnv)) throw new ValidationError('secretEnv names the environment variable that holds the HMAC secret (the secret itself is never stored)', 'secretEnv');
      const caCertificatePem = optionalString(obj, 'caCertificatePem', 65536);
      return { ...common, url, secretEnv, ...(caCertificatePem ? { caCertificatePem } : {}) };
    }
    case 'acm':
      return { ...common, region: awsRegion(requiredString(obj, 'region', 32), 'region'), certificateArn: optionalString(obj, 'certificateArn', 2048) };
    case 'secretsmanager':
      return { ...common, region: awsRegion(requiredString(obj, 'region', 32), 'region'), secretId: requiredString(obj, 'secretId', 2048) };
  }
}
