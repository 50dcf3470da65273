import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CertopsError } from '../shared/errors.ts';
import { apiGatewayEvent, routeMatcher } from './api-gateway-event.ts';
import type { Definition } from './serverless-definition.ts';

/** Lambda's request payload limit; API Gateway refuses larger bodies too. */
const MAX_BODY = 6 * 1024 * 1024;

export interface ServerOptions {
  definition: Definition;
  invoke(fn: string, event: unknown): Promise<unknown>;
  /** AWS JSON-protocol operations served on POST / by X-Amz-Target (PutEvents, StartExecution). */
  awsOperations: Record<string, (body: Record<string, unknown>) => Promise<unknown>>;
  onError?(err: unknown): void;
}

function send(res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json') {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
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

/** The local front door: the httpApi routes of serverless.yml, plus the EventBridge and Step Functions APIs the SDK calls. */
export function startLocalServer(options: ServerOptions, port: number, host = '127.0.0.1'): Promise<Server> {
  const match = routeMatcher(options.definition.routes);
  const server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      if (!body) return send(res, 413, errorBody('payload_too_large', `the body is over ${MAX_BODY} bytes`, 'body'));
      const target = req.headers['x-amz-target'];
      if (req.method === 'POST' && typeof target === 'string') return await awsOperation(options, target, body, res);
      const url = new URL(req.url ?? '/', 'http://local');
      const route = match(req.method ?? 'GET', url.pathname);
      if (!route) return send(res, 404, errorBody('not_found', `no route ${req.method} ${url.pathname}`));
      const result = (await options.invoke(route.fn, apiGatewayEvent(req, url, route, body))) as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : Buffer.from(result.body ?? '');
      send(res, result.statusCode, payload, result.headers?.['content-type'] ?? 'application/json');
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

async function awsOperation(options: ServerOptions, target: string, body: Buffer, res: ServerResponse) {
  // X-Amz-Target is the caller's: an own property or nothing (never Object.prototype's).
  const operation = Object.hasOwn(options.awsOperations, target) ? options.awsOperations[target] : undefined;
  const type = 'application/x-amz-json-1.1';
  if (!operation) return send(res, 400, JSON.stringify({ __type: 'UnknownOperationException', message: `${target} is not served locally` }), type);
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(body.toString('utf8') || '{}');
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('not an object');
  } catch {
    return send(res, 400, JSON.stringify({ __type: 'SerializationException', message: 'the body is not a JSON object' }), type);
  }
  try {
    send(res, 200, JSON.stringify(await operation(input)), type);
  } catch (err) {
    if (err instanceof CertopsError) return send(res, 400, JSON.stringify({ __type: 'ValidationException', message: err.message }), type);
    throw err;
  }
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
