import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ValidationError } from '../shared/errors.ts';

export interface RouteMatch {
  routeKey: string;
  fn: string;
  pathParameters: Record<string, string>;
}

/** A path segment's %-escapes decoded, as API Gateway does; a malformed escape is the caller's mistake. */
function decodeSegment(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ValidationError(`the path parameter ${name} holds a malformed %-escape`, name);
  }
}

/** Compiles `/certificates/{id}` into a matcher, as API Gateway HTTP APIs match path parameters (one segment each). */
export function routeMatcher(routes: { method: string; path: string; routeKey: string; fn: string }[]) {
  const compiled = routes.map((r) => {
    const names: string[] = [];
    const source = r.path.replace(/\{(\w+)\}/g, (_m, name) => {
      names.push(name);
      return '([^/]+)';
    });
    return { ...r, regex: new RegExp(`^${source}$`), names };
  });
  return (method: string, path: string): RouteMatch | undefined => {
    for (const r of compiled) {
      const m = r.method === method ? r.regex.exec(path) : null;
      if (m) return { routeKey: r.routeKey, fn: r.fn, pathParameters: Object.fromEntries(r.names.map((n, i) => [n, decodeSegment(m[i + 1], n)])) };
    }
    return undefined;
  };
}

/** The API Gateway HTTP API (payload format 2.0) event Lambda would receive for this request. */
export function apiGatewayEvent(req: IncomingMessage, url: URL, match: RouteMatch, body: Buffer) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query = url.searchParams.size ? Object.fromEntries(url.searchParams) : undefined;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: query,
    pathParameters: Object.keys(match.pathParameters).length ? match.pathParameters : undefined,
    body: body.length ? body.toString('utf8') : undefined,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: match.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
  };
}
