import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CertopsError, ForbiddenError, NotFoundError, TooManyRequestsError, UpstreamError, ValidationError } from '../../shared/errors.ts';
import type { Role } from '../../shared/model.ts';
import type { Clock, TokenStore } from '../../shared/ports.ts';
import { authenticateToken, bearerToken, roleAllows, type Caller } from '../../shared/api-token.ts';

export type { Caller };
const ANONYMOUS: Caller = { tokenId: '', name: 'anonymous', role: 'viewer', eventSources: [] };
import { logger } from '../logger.ts';
import { recordingAnswer } from './answer-recorder.ts';

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
  /** Headers a protocol needs beside the body (ACME's Replay-Nonce, Location, Link, Retry-After). */
  headers?: Record<string, string>;
}

/** A JSON Schema (2020-12, as OpenAPI 3.1 takes it); `$ref`s name shared/api-schemas.ts's components. */
export type Schema = Record<string, unknown>;

/** A raw (not JSON) answer: its media type. */
export interface RawAnswer {
  contentType: string;
  description: string;
}

/** What GET /openapi.json says of a route (adapters/http/openapi.ts); answers in test runs are checked against it. */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Query parameters by name, each a schema (with its description); none is required. */
  query?: Record<string, Schema>;
  /** The JSON body it takes (a `description` in it says what for). */
  body?: Schema;
  /** Each status it answers besides errors (CONTRACT.md's error shape, documented once for all): the JSON body's schema, or a raw answer. */
  responses: Record<number, Schema | RawAnswer>;
}

export interface Route {
  /** The least role that may call it: viewer routes are open to every role. */
  role: Role | 'public';
  doc: RouteDoc;
  /**
   * Does not act on the configuration in force, which is then not read first: the health check,
   * and the configuration's own routes (which must work to replace one that does not read).
   */
  withoutConfiguration?: boolean;
  run(req: ApiRequest): Promise<ApiResult>;
}

/** Path and query values become item keys: DynamoDB takes at most 1,024 bytes of sort key, so longer ones are refused here. */
const MAX_PARAMETER = 256;
/** A nextToken is a key the API encoded, a little longer than the key itself. */
const MAX_NEXT_TOKEN = 4096;

function boundedParameters(values: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    if (value === undefined) continue;
    const max = name === 'nextToken' ? MAX_NEXT_TOKEN : MAX_PARAMETER;
    if (value.length > max) throw new ValidationError(`${name} is longer than ${max} characters`, name);
    out[name] = value;
  }
  return out;
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

/** Network failures on the way to a service certops depends on (an AWS API, a CA): theirs, not certops'. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'TimeoutError']);

/**
 * What an AWS service (its SDK's ServiceException: `$metadata`, `$fault`) or the network to it
 * refused, as a 502 naming the service's error, so the caller sees the cause (AccessDenied, a
 * throttle, an endpoint that does not answer) rather than an internal error.
 */
function upstreamCause(err: unknown): UpstreamError | undefined {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: unknown; $fault?: string } | undefined;
  if (!e || typeof e !== 'object') return undefined;
  if (e.$metadata && e.$fault) return new UpstreamError(`an AWS service refused the call: ${e.name}: ${String(e.message ?? '').slice(0, 300)}`);
  const code = e.code ?? e.name;
  if (code && UNREACHABLE.has(code)) return new UpstreamError(`a service certops depends on could not be reached (${code})`);
  return undefined;
}

export function errorResult(err: unknown): APIGatewayProxyStructuredResultV2 {
  const upstream = upstreamCause(err);
  if (upstream) logger.error('upstream failure', { error: (err as Error)?.message, name: (err as Error)?.name });
  err = upstream ?? err;
  if (err instanceof CertopsError) {
    const result = json(err.status, { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
    if (err instanceof TooManyRequestsError) result.headers = { ...result.headers, 'retry-after': String(err.retryAfterSeconds) };
    return result;
  }
  logger.error('unhandled error', { error: (err as Error)?.message, stack: (err as Error)?.stack });
  return json(500, { error: { code: 'internal', message: 'internal error' } });
}

function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * A Lambda handler for API Gateway HTTP API (payload v2) events that dispatches on the route key,
 * brings the configuration up to date (see CurrentConfiguration), checks the bearer token's role,
 * and turns typed errors into the CONTRACT.md error shape.
 */
export function apiHandler(routes: Record<string, Route>, deps: () => { tokens: TokenStore; clock: Clock; configuration: { refresh(): Promise<unknown> } }) {
  const handler = middy(async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => recordingAnswer(event.routeKey, await answer(event)));
  async function answer(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
      if (!route) throw new NotFoundError(`no route ${event.routeKey}`);
      if (!route.withoutConfiguration) await deps().configuration.refresh();
      const caller: Caller = route.role === 'public' ? ANONYMOUS : await authenticateToken(bearerToken(event.headers?.authorization ?? event.headers?.Authorization), deps());
      if (route.role !== 'public' && !roleAllows(caller.role, route.role)) {
        throw new ForbiddenError(`role ${caller.role} may not call ${event.routeKey} (needs ${route.role})`);
      }
      const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v ?? '']));
      const result = await route.run({
        params: boundedParameters(event.pathParameters),
        query: boundedParameters(event.queryStringParameters),
        headers,
        body: parseBody(event),
        caller,
      });
      if (result.contentType) {
        const raw = result.body instanceof Uint8Array;
        return {
          statusCode: result.status,
          headers: { ...result.headers, 'content-type': result.contentType },
          body: raw ? Buffer.from(result.body as Uint8Array).toString('base64') : String(result.body ?? ''),
          isBase64Encoded: raw,
        };
      }
      return json(result.status, result.body ?? {});
    } catch (err) {
      return errorResult(err);
    }
  }
  // The route table is what GET /openapi.json is generated from (bin/openapi.ts).
  return Object.assign(handler, { routes });
}
