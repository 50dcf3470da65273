import { ValidationError } from '../../shared/errors.ts';
import { isAbsolute, resolve, sep } from 'node:path';
import { asObject, oneOf, optionalString, requiredString, stringList } from '../../shared/input.ts';
import { ROLES, type Role, type Target } from '../../shared/model.ts';
import type { TargetAccess } from '../../shared/target-access.ts';
import { awsRegion } from '../../shared/aws-region.ts';

const TYPES = ['filesystem', 'webhook', 'acm', 'secretsmanager'] as const;

/** Who may deploy there: `{ owners?: [principal], roles?: [role], environments?: [env] }`; none given, admins only. */
function parseAllowed(obj: Record<string, unknown>): TargetAccess | undefined {
  if (obj.allowed === undefined || obj.allowed === null) return undefined;
  const allowed = asObject(obj.allowed, 'allowed');
  for (const k of Object.keys(allowed)) if (!['owners', 'roles', 'environments'].includes(k)) throw new ValidationError(`allowed.${k.slice(0, 40)} is not known (owners, roles, environments)`, 'allowed');
  const roles = stringList(allowed, 'roles', 4);
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r)) throw new ValidationError(`allowed.roles: ${r.slice(0, 40)} is not a role (${ROLES.join(', ')})`, 'allowed.roles');
  return { owners: stringList(allowed, 'owners', 100), roles: roles as Role[], environments: stringList(allowed, 'environments', 20) };
}

/**
 * An absolute directory with no `..` in it, inside one of `roots`: a target writes private keys,
 * so where it may write is the configuration's to say (deployment.allowedRoots).
 */
function confinedDirectory(raw: string, roots: string[]): string {
  if (roots.length === 0) throw new ValidationError('filesystem targets need deployment.allowedRoots in the configuration here: the functions have no disk that outlives an invocation (AWS Lambda)', 'directory');
  if (!isAbsolute(raw)) throw new ValidationError('directory must be an absolute path', 'directory');
  if (raw.split(/[\\/]/).includes('..')) throw new ValidationError('directory may not hold ..', 'directory');
  const directory = resolve(raw);
  if (!roots.some((root) => directory === root || directory.startsWith(`${root}${sep}`))) {
    throw new ValidationError(`directory must be inside ${roots.join(' or ')} (deployment.allowedRoots)`, 'directory');
  }
  return directory;
}

/** A target registration (`POST /targets`), checked field by field; filesystem directories must lie inside `allowedRoots`. */
export function parseTarget(body: unknown, allowedRoots: string[]): Target {
  const obj = asObject(body);
  const name = requiredString(obj, 'name', 64);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ValidationError('name may hold letters, digits, dot, dash and underscore only', 'name');
  const type = oneOf(obj, 'type', TYPES, 'filesystem');
  const endpoint = optionalString(obj, 'endpoint', 300);
  if (endpoint && !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(endpoint)) throw new ValidationError('endpoint must be host:port', 'endpoint');
  const allowed = parseAllowed(obj);
  const common = { name, type, endpoint, serverName: optionalString(obj, 'serverName', 253), ...(allowed ? { allowed } : {}) };
  switch (type) {
    case 'filesystem': {
      const directory = confinedDirectory(requiredString(obj, 'directory', 1024), allowedRoots);
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
