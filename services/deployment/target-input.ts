import { ValidationError } from '../../shared/errors.ts';
import { asObject, oneOf, optionalString, requiredString } from '../../shared/input.ts';
import type { Target } from '../../shared/model.ts';

const TYPES = ['filesystem', 'webhook', 'acm', 'secretsmanager'] as const;

/** A target registration (`POST /targets`), checked field by field. */
export function parseTarget(body: unknown): Target {
  const obj = asObject(body);
  const name = requiredString(obj, 'name', 64);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ValidationError('name may hold letters, digits, dot, dash and underscore only', 'name');
  const type = oneOf(obj, 'type', TYPES, 'filesystem');
  const endpoint = optionalString(obj, 'endpoint', 300);
  if (endpoint && !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(endpoint)) throw new ValidationError('endpoint must be host:port', 'endpoint');
  if (type !== 'filesystem') throw new ValidationError(`target type ${type} is not available yet (filesystem is)`, 'type');
  const directory = requiredString(obj, 'directory', 1024);
  if (!directory.startsWith('/')) throw new ValidationError('directory must be an absolute path', 'directory');
  return { name, type, endpoint, directory, reloadCommand: optionalString(obj, 'reloadCommand', 1024), serverName: optionalString(obj, 'serverName', 253) };
}
