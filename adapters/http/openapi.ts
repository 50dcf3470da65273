import { COMPONENTS } from '../../shared/api-schemas.ts';
import type { RawAnswer, Route, Schema } from './api-handler.ts';

/** One function's HTTP routes, as its handler declares them (apiHandler's route table, or a `routes` export beside a plain handler). */
export interface ServedRoutes {
  fn: string;
  routes: Record<string, Pick<Route, 'role' | 'doc'>>;
}

const isRaw = (answer: Schema | RawAnswer): answer is RawAnswer => typeof (answer as RawAnswer).contentType === 'string';

/** The path parameters a route key names (`{id}`), in order. */
const pathParameters = (path: string) => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);

/**
 * The API as an OpenAPI 3.1 document: one operation per route of every function, its summary,
 * the role it needs (security: a bearer token, except public routes), its query parameters, its
 * JSON body and its answers as the route table declares them, and the error answer every route
 * gives every route. Paths and operations come out sorted, so the document changes only when a
 * route does.
 */
export function openApiDocument(served: ServedRoutes[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const operations = served.flatMap(({ fn, routes }) => Object.entries(routes).map(([key, route]) => ({ fn, key, route })));
  for (const { fn, key, route } of operations.sort((a, b) => a.key.localeCompare(b.key))) {
    const [method, path] = key.split(' ');
    const { doc } = route;
    const responses: Record<string, unknown> = {};
    for (const [status, answer] of Object.entries(doc.responses)) {
      responses[status] = isRaw(answer)
        ? { description: answer.description, content: { [answer.contentType]: { schema: { type: 'string', format: 'binary' } } } }
        : { description: String(answer.description ?? doc.summary), content: { 'application/json': { schema: answer } } };
    }
    responses.default = { description: 'an error, { error: { code, message, field } }: 400 a field refused, 401 no valid token, 403 a role or rule refused, 404 nothing there, 409 a conflict, 429 too many, 502 a service certops depends on (an AWS API, a CA) refused or could not be reached', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = {
      operationId: `${fn}.${method.toLowerCase()}${path.replace(/\{([^}]+)\}/g, 'By-$1').split(/[/-]/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('')}`,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [fn],
      'x-certops-role': route.role,
      security: route.role === 'public' ? [] : [{ bearer: [] }],
      parameters: [
        ...pathParameters(path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...Object.entries(doc.query ?? {}).map(([name, schema]) => {
          const { description, ...only } = schema as { description?: string };
          return { name, in: 'query', required: false, ...(description ? { description } : {}), schema: only };
        }),
      ],
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: doc.body } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'certops', version, description: 'Certificate lifecycle management: inventory, issuance under policy, deployment, renewal, CT monitoring and SIEM export. Every error answers { error: { code, message, field } }, field naming the input refused. The local stack\'s AWS-protocol endpoint (POST / with X-Amz-Target, EventBridge PutEvents) is AWS\'s API, not described here.' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      schemas: COMPONENTS,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API token, cop_<id>_<secret> (certops token create)' } },
    },
  };
}
