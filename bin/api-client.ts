import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A failure the CLI reports on stderr with this exit code. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface ClientOptions {
  endpoint: string;
  token?: string;
}

/** The token: CERTOPS_TOKEN, else the local admin token file under $CERTOPS_HOME. */
export function resolveToken(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CERTOPS_TOKEN) return env.CERTOPS_TOKEN;
  try {
    return readFileSync(join(resolve(env.CERTOPS_HOME ?? '.certops'), 'admin.token'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function call(options: ClientOptions, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${options.endpoint.replace(/\/$/, '')}${path}`, {
      method,
      headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new CliError(`cannot reach certops at ${options.endpoint}: ${(err as Error).cause ?? (err as Error).message} (is \`npm start\` running?)`, 2);
  }
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (res.status >= 400) {
    const e = parsed?.error;
    throw new CliError(e ? `${res.status} ${e.code}: ${e.message}${e.field ? ` (field: ${e.field})` : ''}` : `${res.status}: ${text.slice(0, 500)}`);
  }
  return { status: res.status, body: parsed, text };
}
