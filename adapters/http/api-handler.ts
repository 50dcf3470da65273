import { createHash } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CertopsError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../../shared/errors.ts';
import type { Role } from '../../shared/model.ts';
import type { TokenStore } from '../../shared/ports.ts';
import { logger } from '../logger.ts';

export interface Caller {
  name: string;
  role: Role;
}

export interface ApiRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
  caller: Caller;
}

export interface ApiResult {
  status: number;
  body?: unknown;
  /** Raw bodies (PEM, CSV, DER) go out as they are, with this content type. */
  contentType?: string;
}

export interface Route {
  /** The least role that may call it: viewer routes are open to every role. */
  role: Role | 'public';
  run(req: ApiRequest): Promise<ApiResult>;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

function allowed(role: Role, need: Role): boolean {
  return role === 'admin' || role === need || need === 'viewer';
}

async function authenticate(event: APIGatewayProxyEventV2, tokens: TokenStore): Promise<Caller> {
  const header = event.headers?.authorization ?? event.headers?.Authorization;
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) throw new UnauthorizedError('an Authorization: Bearer token is required');
  const found = await tokens.get(hashToken(token));
  if (!found) throw new UnauthorizedError('the token is not valid');
  return found;
}

function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('the request body is not valid JSON', 'body');
  }
}

export function errorResult(err: unknown): APIGatewayProxyStructuredResultV2 {
  if (err instanceof CertopsError) {
    return json(err.status, { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
  }
  logger.error('unhandled error', { error: (err as Error)?.message, stack: (err as Error)?.stack });
  return json(500, { error: { code: 'internal', message: 'internal error' } });
}

function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * A Lambda handler for API Gateway HTTP API (payload v2) events that dispatches on the route key,
 * checks the bearer token's role, and turns typed errors into the CONTRACT.md error shape.
 */
export function apiHandler(routes: Record<string, Route>, tokens: () => TokenStore) {
  return middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      const route = routes[event.routeKey];
      if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
      const caller: Caller = route.role === 'public' ? { name: 'anonymous', role: 'viewer' } : await authenticate(event, tokens());
      if (route.role !== 'public' && !allowed(caller.role, route.role)) {
        throw new ForbiddenError(`role ${caller.role} may not call ${event.routeKey} (needs ${route.role})`);
      }
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v ?? '']));
      const result = await route.run({
        params: (event.pathParameters ?? {}) as Record<string, string>,
        query: (event.queryStringParameters ?? {}) as Record<string, string>,
        headers,
        body: parseBody(event),
        caller,
      });
      if (result.contentType) {
        const raw = result.body instanceof Uint8Array;
        return {
          statusCode: result.status,
          headers: { 'content-type': result.contentType },
          body: raw ? Buffer.from(result.body as Uint8Array).toString('base64') : String(result.body ?? ''),
          isBase64Encoded: raw,
        };
      }
      return json(result.status, result.body ?? {});
    } catch (err) {
      return errorResult(err);
    }
  });
}
