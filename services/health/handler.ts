import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * GET /health: the API answers. Public, so it reads nothing and its function may call nothing in
 * AWS (a role of its own with its logs only): an anonymous route holds no permission to misuse.
 */
export const api = async (): Promise<APIGatewayProxyStructuredResultV2> => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'ok' }) });
