import { staticFilesHandler } from '../../adapters/http/static-files.ts';
import type { Route } from '../../adapters/http/api-handler.ts';
import { DASHBOARD_FILES } from './files.ts';

/**
 * GET /, GET /ui/{file} and GET /openapi.json: the dashboard's files and the API's description.
 * They hold no data: every page reads the API with the user's token.
 */
export const api = staticFilesHandler(DASHBOARD_FILES);

/** What GET /openapi.json says of them. */
export const routes: Record<string, Pick<Route, 'role' | 'doc'>> = {
  'GET /': { role: 'public', doc: { summary: 'The dashboard\'s page', responses: { 200: { contentType: 'text/html', description: 'the page' } } } },
  'GET /ui/{file}': { role: 'public', doc: { summary: 'The dashboard\'s scripts, styles and libraries', responses: { 200: { contentType: 'text/javascript', description: 'a script (or style sheet)' } } } },
  'GET /openapi.json': { role: 'public', doc: { summary: 'This description of the API (OpenAPI 3.1), generated from the route table (npm run openapi)', responses: { 200: { type: 'object', required: ['openapi', 'paths'] } } } },
};
