import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A file the handler serves: its path from the project root (the zip's root on Lambda) and its media type. */
export interface StaticFile {
  path: string;
  contentType: string;
}

/**
 * Headers for every file: the page runs only its own scripts and styles and talks only to this
 * origin (the API), so a script injected through data it shows has nowhere to run or send to.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Where the files are: the function's zip on Lambda, else the project folder (CERTOPS_ASSETS_ROOT, set by the local stack). */
const root = () => process.env.LAMBDA_TASK_ROOT ?? process.env.CERTOPS_ASSETS_ROOT ?? process.cwd();

/**
 * A Lambda handler for API Gateway HTTP API (payload v2) events that serves a fixed set of files
 * by route key and path parameter `file`: `files['/']` for `GET /`, `files[file]` for
 * `GET /<prefix>/{file}`, `files[name]` for `GET /<name>`. Nothing outside the set is read; an
 * unknown name is a 404.
 */
export function staticFilesHandler(files: Record<string, StaticFile>) {
  const cache = new Map<string, Buffer>();
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    // GET /<prefix>/{file} names its file; any other route is the file its path names (GET / the page).
    const path = event.routeKey.split(' ')[1] ?? '/';
    const name = event.pathParameters?.file ?? (path === '/' ? '/' : path.slice(1));
    const file = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!file) return { statusCode: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'not_found', message: `no file ${name.slice(0, 100)}`, field: 'file' } }) };
    let content = cache.get(name);
    if (!content) {
      content = await readFile(join(root(), file.path));
      cache.set(name, content);
    }
    return { statusCode: 200, headers: { 'content-type': file.contentType, ...SECURITY_HEADERS }, body: content.toString('base64'), isBase64Encoded: true };
  };
}
