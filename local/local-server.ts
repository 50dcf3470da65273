import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertopsError, ConflictError, ValidationError } from '../shared/errors.ts';
import { apiGatewayEvent, routeMatcher } from './api-gateway-event.ts';
import type { Definition } from './serverless-definition.ts';

/** Lambda's request payload limit; API Gateway refuses larger bodies too. */
const MAX_BODY = 6 * 1024 * 1024;
/** Bodies being read at once, in all: a flood of large uploads gets 503s, not the process's memory. */
const MAX_BODIES_IN_FLIGHT = 64 * 1024 * 1024;
/**
 * A body declared this small is read without asking first who sends it (the function the request
 * goes to authenticates it anyway, and a lookup spared per call is worth more than 16 KiB held a
 * moment), while such bodies hold less than UNVERIFIED_BODIES_IN_FLIGHT between them: past that,
 * anonymous senders could crowd out everyone's uploads, so the sender is asked first again.
 */
const SMALL_BODY = 16 * 1024;
const UNVERIFIED_BODIES_IN_FLIGHT = 1024 * 1024;

export interface ServerOptions<Principal> {
  definition: Definition;
  invoke(fn: string, event: unknown): Promise<unknown>;
  /** Settles when the suite is ready to serve: requests that come earlier wait for it. */
  ready: Promise<unknown>;
  /**
   * Checks, before a body over SMALL_BODY (or of undeclared length) is read, that whoever sends one
   * may send anything at all (a token that works, or the suite's own signing key); throws a
   * CertopsError (401) otherwise. Public routes take no body.
   */
  mayUpload(req: IncomingMessage): Promise<void>;
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

/** The request-target as a URL; one no URL parser takes (`//[`) is the caller's mistake. */
function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://local');
  } catch {
    throw new ValidationError('the request-target is not a path', 'path');
  }
}

export interface LocalServer {
  /** The loopback TCP listener (the API's URL). */
  tcp: Server;
  /** The unix socket in the state folder the CLI talks to, where no other local user can listen in its place. */
  socket?: Server;
}

/**
 * The front door: the httpApi routes of serverless.yml, plus the EventBridge and Step Functions
 * APIs the SDK calls, on loopback, and the same on a private unix socket when `socketPath` is given.
 */
export async function startLocalServer<Principal>(options: ServerOptions<Principal>, port: number, socketPath?: string, host = '127.0.0.1'): Promise<LocalServer> {
  const match = routeMatcher(options.definition.routes);
  const names = new Set([...LOOPBACK_NAMES, ...(options.extraHostNames ?? [])].map((n) => n.toLowerCase()));
  let bodiesInFlight = 0;
  let unverifiedInFlight = 0;
  const served = (hostHeader: string | undefined) => {
    const value = (hostHeader ?? '').toLowerCase();
    const at = value.lastIndexOf(':');
    const [name, hostPort] = at > value.lastIndexOf(']') ? [value.slice(0, at), value.slice(at + 1)] : [value, '80'];
    return names.has(name) && /^\d{1,5}$/.test(hostPort) && Number(hostPort) === serverPort(tcp);
  };
  /** The body, read only once the caller may send one (see SMALL_BODY); undefined when it is over the limit. */
  const readBody = async (req: IncomingMessage): Promise<Buffer | undefined> => {
    if (req.method === 'GET' || req.method === 'HEAD') return Buffer.alloc(0);
    const declared = Number(req.headers['content-length']);
    const unverified = Number.isInteger(declared) && declared <= SMALL_BODY && unverifiedInFlight + declared <= UNVERIFIED_BODIES_IN_FLIGHT ? declared : 0;
    if (!unverified) await options.mayUpload(req);
    unverifiedInFlight += unverified;
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        size += chunk.length;
        bodiesInFlight += chunk.length;
        if (size > MAX_BODY) return undefined;
        if (bodiesInFlight > MAX_BODIES_IN_FLIGHT) throw Object.assign(new Error('busy'), { busy: true });
        chunks.push(chunk);
      }
      return Buffer.concat(chunks);
    } finally {
      bodiesInFlight -= size;
      unverifiedInFlight -= unverified;
    }
  };
  const handle = (checkHost: boolean) => async (req: IncomingMessage, res: ServerResponse) => {
    try {
      // An ACME CA validating http-01 names the host it validates (RFC 8555 8.3): those answers are public and read-only, for any Host.
      const acmeChallenge = req.method === 'GET' && requestUrl(req.url).pathname.startsWith('/.well-known/acme-challenge/');
      if (checkHost && !acmeChallenge && !served(req.headers.host)) return send(res, 421, errorBody('misdirected_request', `this server does not answer for the host ${JSON.stringify(String(req.headers.host ?? '').slice(0, 100))}`, 'Host'));
      await options.ready;
      const target = req.headers['x-amz-target'];
      const aws = req.method === 'POST' && typeof target === 'string';
      const url = requestUrl(req.url);
      const route = aws ? undefined : match(req.method ?? 'GET', url.pathname);
      if (!aws && !route) return send(res, 404, errorBody('not_found', `no route ${req.method} ${url.pathname.slice(0, 200)}`));
      const body = await readBody(req);
      if (!body) return send(res, 413, errorBody('payload_too_large', `the body is over ${MAX_BODY} bytes`, 'body'));
      if (aws) return await awsOperation(options, req, target, body, res);
      const result = (await options.invoke(route!.fn, apiGatewayEvent(req, url, route!, body))) as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '');
      // As API Gateway does: the function's headers go out as they are.
      send(res, result.statusCode, payload, result.headers?.['content-type'] ?? 'application/json', result.headers);
    } catch (err) {
      if ((err as { busy?: boolean }).busy) return send(res, 503, errorBody('busy', 'too many request bodies are being received; try again'), 'application/json', { 'retry-after': '1', connection: 'close' });
      if (err instanceof CertopsError) {
        if (req.method === 'POST' && typeof req.headers['x-amz-target'] === 'string') return send(res, err.status, awsErrorBody(err.status, err.message), AWS_JSON, { connection: 'close' });
        return send(res, err.status, errorBody(err.code, err.message, err.field), 'application/json', { connection: 'close' });
      }
      options.onError?.(err);
      if (!res.headersSent) send(res, 500, errorBody('internal', 'internal error'));
    }
  };
  const bounded = (server: Server) => {
    // A client that sends its request slowly holds nothing for long.
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    return server;
  };
  const tcp = bounded(createServer(handle(true)));
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE'
      ? new ConflictError(`port ${port} on ${host} is taken by another program: start certops on a free one, e.g. PORT=${port + 1} npm start`, 'PORT')
      : err));
    tcp.listen(port, host, () => resolve());
  });
  if (!socketPath) return { tcp };
  const socket = bounded(createServer(handle(false)));
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return { tcp, socket };
}

/** AWS JSON-protocol error types for our error statuses, as the SDK reads them from `__type`. */
const AWS_ERROR_TYPES: Record<number, string> = { 400: 'ValidationException', 401: 'UnrecognizedClientException', 403: 'AccessDeniedException', 404: 'ResourceNotFoundException', 409: 'ConflictException', 429: 'ThrottlingException' };
const AWS_JSON = 'application/x-amz-json-1.1';
const awsErrorBody = (status: number, message: string, awsType = AWS_ERROR_TYPES[status] ?? 'ValidationException') => JSON.stringify({ __type: awsType, message });

async function awsOperation<Principal>(options: ServerOptions<Principal>, req: IncomingMessage, target: string, body: Buffer, res: ServerResponse) {
  const type = AWS_JSON;
  const fail = (status: number, message: string, awsType?: string) => send(res, status, awsErrorBody(status, message, awsType), type);
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
