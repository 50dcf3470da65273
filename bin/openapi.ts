// npm run openapi — writes docs/openapi.json (served at GET /openapi.json) from serverless.yml's
// routes and each handler's route table; the test suite fails when the file is not what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openApiDocument } from '../adapters/http/openapi.ts';
import { servedRoutes } from '../local/openapi-routes.ts';

const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
writeFileSync(join(root, 'docs/openapi.json'), `${JSON.stringify(openApiDocument(await servedRoutes(root), version), null, 2)}\n`);
console.log('docs/openapi.json written');
process.exit(0);
