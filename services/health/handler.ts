import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Route } from '../../adapters/http/api-handler.ts';

/**
 * GET /health: the API answers. Public, so it reads nothing and its function may call nothing in
 * AWS (a role of its own with its logs only): an anonymous route holds no permission to misuse.
 */
export const api = async (): Promise<APIGatewayProxyStructuredResultV2> => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'ok' }) });

/** What GET /openapi.json says of it. */
export const routes: Record<string, Pick<Route, 'role' | 'doc'>> = {
  'GET /health': { role: 'public', doc: { summary: 'Whether the API answers', responses: { 200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } } } },
};
