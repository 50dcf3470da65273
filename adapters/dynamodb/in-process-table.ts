import { HttpResponse, type HttpHandler, type HttpRequest } from '@smithy/protocol-http';

/** What the SDK passes a request handler besides the request (an abort signal, a timeout). */
type HttpHandlerOptions = NonNullable<Parameters<HttpHandler['handle']>[1]>;

/** A DynamoDB API request as it would go over HTTP: what a table served in this process needs of it. */
export interface TableRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The JSON the SDK wrote (DynamoDB's API is JSON over HTTP). */
  body: string;
}

/** The table's HTTP answer: status, headers (lower-case names) and body. */
export interface TableResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Carries requests to a table served by this process (the local stack's embedded table, in a thread of its own). */
export interface TableChannel {
  /** @throws when the table is closed or its thread is gone. */
  request(request: TableRequest): Promise<TableResponse>;
}

/** Channels by the endpoint the table also answers on (`unix:<socket>`): other processes reach it there. */
const channels = new Map<string, TableChannel>();

/** From now on, clients of `endpoint` opened in this process send their requests through `channel`. */
export function serveInProcess(endpoint: string, channel: TableChannel): void {
  channels.set(endpoint, channel);
}

/** Clients opened from now on reach `endpoint` over its socket again. */
export function stopServingInProcess(endpoint: string): void {
  channels.delete(endpoint);
}

/** The channel to the table at `endpoint` when this process serves it, else undefined. */
export function inProcessChannel(endpoint: string): TableChannel | undefined {
  return channels.get(endpoint);
}

/**
 * The request's JSON as text: a message copies a typed array's whole buffer, and the SDK writes
 * its JSON into a larger buffer than the request takes.
 */
function jsonText(body: unknown): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  throw new TypeError('a table request body is JSON text or its bytes');
}

/** As the SDK's HTTP handlers do: a request whose signal is aborted fails with an AbortError. */
function abortedAlready(options: HttpHandlerOptions): void {
  if (options.abortSignal?.aborted) throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
}

/**
 * The SDK's request handler for a table this process serves: the request goes to the table's
 * thread as a message instead of through a socket, an HTTP client and an HTTP server (on the
 * local stack's issuance path, some tenth of its CPU). The SDK serializes, and dynalite checks and
 * answers, exactly as over HTTP.
 */
export class ChannelRequestHandler implements HttpHandler<Record<string, never>> {
  constructor(private readonly channel: TableChannel) {}

  async handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    abortedAlready(options);
    const query = new URLSearchParams(request.query as Record<string, string>).toString();
    const answer = await this.channel.request({ method: request.method, path: `${request.path}${query ? `?${query}` : ''}`, headers: request.headers, body: jsonText(request.body) });
    abortedAlready(options);
    return { response: new HttpResponse({ statusCode: answer.statusCode, headers: answer.headers, body: Buffer.from(answer.body) }) };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
}
