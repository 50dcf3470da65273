import { lstatSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';

/** A failure the CLI reports on stderr with this exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface ClientOptions {
  /** An http(s) URL, or the local suite's unix socket. */
  endpoint: string | { socketPath: string };
  token?: string;
}

const home = (env: NodeJS.ProcessEnv) => resolve(env.CERTOPS_HOME ?? '.certops');

/** The token: CERTOPS_TOKEN, else the local admin token file under $CERTOPS_HOME. */
export function resolveToken(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CERTOPS_TOKEN) return env.CERTOPS_TOKEN;
  try {
    return readFileSync(join(home(env), 'admin.token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Where the suite is: the URL given, else the local suite's socket in the state folder (a socket
 * this user owns: no one else can answer there and collect the token), else
 * http://127.0.0.1:$PORT.
 */
export function resolveEndpoint(given: string | undefined, env: NodeJS.ProcessEnv): ClientOptions['endpoint'] {
  if (given) return given;
  const socketPath = join(home(env), 'api.sock');
  try {
    const st = lstatSync(socketPath);
    if (st.isSocket() && st.uid === process.getuid?.()) return { socketPath };
  } catch {
    // No local suite here: the TCP default.
  }
  return `http://127.0.0.1:${env.PORT ?? 8080}`;
}

/** What to do about a 401: where the CLI looks for a token, and how to get one. */
function tokenHint(options: ClientOptions): string {
  return options.token
    ? 'the token was refused (expired or revoked?): set CERTOPS_TOKEN to a valid one (an admin runs certops token create)'
    : `no token: set CERTOPS_TOKEN (an admin runs certops token create), or run where the local suite's admin token is (CERTOPS_HOME, now ${home(process.env)})`;
}

const describe = (endpoint: ClientOptions['endpoint']) => (typeof endpoint === 'string' ? endpoint : endpoint.socketPath);

/** One HTTP exchange over the local socket. */
function overSocket(socketPath: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath, method, path, headers: { host: 'localhost', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function call(options: ClientOptions, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
  const allHeaders = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let res: { status: number; text: string };
  try {
    res = typeof options.endpoint === 'string'
      ? await fetch(`${options.endpoint.replace(/\/$/, '')}${path}`, { method, headers: allHeaders, body: payload }).then(async (r) => ({ status: r.status, text: await r.text() }))
      : await overSocket(options.endpoint.socketPath, method, path, allHeaders, payload);
  } catch (err) {
    const { cause } = err as Error & { cause?: Error & { code?: string } };
    const why = cause?.code ?? cause?.message ?? (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CliError(`cannot reach certops at ${describe(options.endpoint)} (${why}): start it with npm start, or say where it runs with --endpoint URL (or PORT=N for a local suite on another port)`, 2);
  }
  let parsed: any;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    parsed = undefined;
  }
  if (res.status >= 400) {
    const e = parsed?.error;
    const said = e ? `${res.status} ${e.code}: ${e.message}${e.field ? ` (field: ${e.field})` : ''}` : `${res.status}: ${res.text.slice(0, 500)}`;
    throw new CliError(res.status === 401 ? `${said}; ${tokenHint(options)}` : said);
  }
  return { status: res.status, body: parsed, text: res.text };
}
