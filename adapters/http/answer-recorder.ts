import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** One answer of the API as a client received it: the route, the status, the media type and the body (JSON parsed). */
export interface RecordedAnswer {
  route: string;
  status: number;
  contentType: string;
  body: unknown;
}

const written = new Set<string>();

/**
 * Test builds: with CERTOPS_RECORD_API_ANSWERS naming a folder, every answer is appended (once per
 * distinct answer) to `<folder>/<pid>.ndjson`, for the test that checks each against GET
 * /openapi.json. Lambda bundles have the variable compiled out (serverless.yml, esbuild `define`).
 * Returns the answer unchanged.
 */
export function recordingAnswer(route: string, answer: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
  const folder = process.env.CERTOPS_RECORD_API_ANSWERS;
  if (!folder) return answer;
  const contentType = String(answer.headers?.['content-type'] ?? '');
  const body = contentType.startsWith('application/json') && answer.body ? JSON.parse(String(answer.body)) : null;
  const line = JSON.stringify({ route, status: answer.statusCode ?? 200, contentType, body } satisfies RecordedAnswer);
  const digest = createHash('sha256').update(line).digest('hex');
  if (!written.has(digest)) {
    written.add(digest);
    mkdirSync(folder, { recursive: true });
    appendFileSync(join(folder, `${process.pid}.ndjson`), `${line}\n`);
  }
  return answer;
}
