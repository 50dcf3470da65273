import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertopsError, ValidationError } from '../shared/errors.ts';
import { apiGatewayEvent, routeMatcher } from './api-gateway-event.ts';
import type { Definition } from './serverless-definition.ts';

/** Lambda's request payload limit; API Gateway refuses larger bodies too. */
const MAX_BODY = 6 * 1024 * 1024;

export interface ServerOptions<Principal> {
  definition: Definition;
  invoke(fn: string, event: unknown): Promise<unknown>;
  /** Settles when the suite is ready to serve: requests that come earlier wait for it. */
  ready: Promise<unknown>;
  /** Who sent an AWS-protocol request (POST / with X-Amz-Target); throws a CertopsError (401, 403) for anyone else. */
  awsPrincipal(req: IncomingMessage, body: Buffer): Promise<Principal>;
  /** AWS JSON-protocol operations served on POST / by X-Amz-Target (PutEvents, StartExecution), given the caller. */
  awsOperations: Record<string, (body: Record<string, unknown>, principal: Principal) => Promise<unknown>>;
  /**
   * Host names (besides the loopback ones) this server answers to. A request naming any other
   * host is refused: a web page that rebinds its own name to 127.0.0.1 gets nothing.
   */
  extraHostNames?: string[];
  onError?(err: unknown): void;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

function send(res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json', headers: Record<string, string> = {}) {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function errorBody(code: string, message: string, field?: string) {
  return JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The request-target as a URL; one no URL parser takes (`//[`) is the caller's mistake. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://local');
  } catch {
    throw new ValidationError('the request-target is not a path', 'path');
  }
}

/** The front door: the httpApi routes of serverless.yml, plus the EventBridge and Step Functions APIs the SDK calls, on loopback. */
export function startLocalServer<Principal>(options: ServerOptions<Principal>, port: number, host = '127.0.0.1'): Promise<Server> {
  const match = routeMatcher(options.definition.routes);
  const names = new Set([...LOOPBACK_NAMES, ...(options.extraHostNames ?? [])].map((n) => n.toLowerCase()));
  const served = (hostHeader: string | undefined) => {
    const value = (hostHeader ?? '').toLowerCase();
    const at = value.lastIndexOf(':');
    const [name, hostPort] = at > value.lastIndexOf(']') ? [value.slice(0, at), value.slice(at + 1)] : [value, '80'];
    return names.has(name) && /^\d{1,5}$/.test(hostPort) && Number(hostPort) === serverPort(server);
  };
  const server = createServer(async (req, res) => {
    try {
      if (!served(req.headers.host)) return send(res, 421, errorBody('misdirected_request', `this server does not answer for the host ${JSON.stringify(String(req.headers.host ?? '').slice(0, 100))}`, 'Host'));
      const body = await readBody(req);
      await options.ready;
      if (!body) return send(res, 413, errorBody('payload_too_large', `the body is over ${MAX_BODY} bytes`, 'body'));
      const target = req.headers['x-amz-target'];
      if (req.method === 'POST' && typeof target === 'string') return await awsOperation(options, req, target, body, res);
      const url = requestUrl(req.url);
      const route = match(req.method ?? 'GET', url.pathname);
      if (!route) return send(res, 404, errorBody('not_found', `no route ${req.method} ${url.pathname.slice(0, 200)}`));
      const result = (await options.invoke(route.fn, apiGatewayEvent(req, url, route, body))) as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '');
      // As API Gateway does: the function's headers go out as they are.
      send(res, result.statusCode, payload, result.headers?.['content-type'] ?? 'application/json', result.headers);
    } catch (err) {
      if (err instanceof CertopsError) return send(res, err.status, errorBody(err.code, err.message, err.field));
      options.onError?.(err);
      if (!res.headersSent) send(res, 500, errorBody('internal', 'internal error'));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** AWS JSON-protocol error types for our error statuses, as the SDK reads them from `__type`. */
const AWS_ERROR_TYPES: Record<number, string> = { 400: 'ValidationException', 401: 'UnrecognizedClientException', 403: 'AccessDeniedException', 404: 'ResourceNotFoundException', 409: 'ConflictException', 429: 'ThrottlingException' };

async function awsOperation<Principal>(options: ServerOptions<Principal>, req: IncomingMessage, target: string, body: Buffer, res: ServerResponse) {
  const type = 'application/x-amz-json-1.1';
  const fail = (status: number, message: string, awsType = AWS_ERROR_TYPES[status] ?? 'ValidationException') => send(res, status, JSON.stringify({ __type: awsType, message }), type);
  try {
    const principal = await options.awsPrincipal(req, body);
    // X-Amz-Target is the caller's: an own property or nothing (never Object.prototype's).
    const operation = Object.hasOwn(options.awsOperations, target) ? options.awsOperations[target] : undefined;
    if (!operation) return fail(400, `${target.slice(0, 100)} is not served locally`, 'UnknownOperationException');
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8') || '{}');
    } catch {
      input = undefined;
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) return fail(400, 'the body is not a JSON object', 'SerializationException');
    send(res, 200, JSON.stringify(await operation(input as Record<string, unknown>, principal)), type);
  } catch (err) {
    if (err instanceof CertopsError) return fail(err.status, err.message);
    throw err;
  }
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
