import { randomBytes } from 'node:crypto';
import { hashToken } from '../../adapters/http/api-handler.ts';
import { asObject, oneOf, requiredString } from '../../shared/input.ts';
import { ROLES, type Role } from '../../shared/model.ts';
import type { TokenStore } from '../../shared/ports.ts';

/** Mints a bearer token; only its hash is stored, so the secret is shown this once. */
export async function createToken(tokens: TokenStore, role: Role, name: string): Promise<string> {
  const token = `cop_${randomBytes(32).toString('base64url')}`;
  await tokens.put(hashToken(token), role, name);
  return token;
}

export function parseTokenRequest(body: unknown): { role: Role; name: string } {
  const obj = asObject(body);
  return { role: oneOf(obj, 'role', ROLES, 'viewer'), name: requiredString(obj, 'name', 128) };
}
