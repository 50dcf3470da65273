import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { RecordedAnswer } from '../../adapters/http/answer-recorder.ts';
import { RECORDED_ANSWERS, ROOT } from '../support/processes.ts';
import { answerSchema } from '../support/openapi.ts';

/** The answers the suite's stacks gave (adapters/http/answer-recorder.ts), run before this file (vitest.config.ts: group order). */
function recordedAnswers(): RecordedAnswer[] {
  if (!existsSync(RECORDED_ANSWERS)) return [];
  return readdirSync(RECORDED_ANSWERS).flatMap((f) => readFileSync(join(RECORDED_ANSWERS, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecordedAnswer));
}

const answers = recordedAnswers();
const openapi = JSON.parse(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8'));

/**
 * Every answer the test suite received from the API (every stack it started, in process or as a
 * child process), checked against GET /openapi.json: the route is described, the status is one it
 * documents (or an error), and a JSON body matches the schema documented for that status (errors:
 * CONTRACT.md's shape). Run alone, this file has no answers and is skipped.
 */
describe.skipIf(answers.length === 0)('the API answers as GET /openapi.json describes', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(openapi, 'openapi');

  it('answers every route the suite called with a documented status and a body that matches its schema', () => {
    const wrong: string[] = [];
    const checked = new Map<string, number>();
    for (const a of answers) {
      const [method, path] = a.route.split(' ');
      const operation = openapi.paths[path]?.[method.toLowerCase()];
      if (!operation) {
        // A route no function serves is answered 404 by the handler, with the error shape.
        if (a.status !== 404) wrong.push(`${a.route}: not in GET /openapi.json, answered ${a.status}`);
        continue;
      }
      const documented = Object.hasOwn(operation.responses, String(a.status));
      if (!documented && a.status < 400) {
        wrong.push(`${a.route}: answered ${a.status}, which it does not document (${Object.keys(operation.responses).join(', ')})`);
        continue;
      }
      if (!a.contentType.startsWith('application/json')) continue;
      const validate = answerSchema(ajv, path, method.toLowerCase(), documented ? String(a.status) : 'default')!;
      if (!validate(a.body)) wrong.push(`${a.route} ${a.status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(a.body).slice(0, 300)}`);
      checked.set(a.route, (checked.get(a.route) ?? 0) + 1);
    }
    console.log(`API answers: ${answers.length} distinct answers of ${checked.size} routes checked against GET /openapi.json, ${wrong.length} wrong`);
    expect(wrong).toEqual([]);
    // The suite drives most of the API: a recorder that stopped recording would pass vacuously.
    expect(checked.size).toBeGreaterThan(30);
  });
});
