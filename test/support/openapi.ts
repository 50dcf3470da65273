import type { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * The validator of the JSON answer an operation documents for `status`, from the OpenAPI document
 * added to `ajv` under the key `openapi` (a JSON Pointer into it, RFC 6901).
 */
export function answerSchema(ajv: Ajv2020, path: string, method: string, status: string) {
  const pointer = ['paths', path, method, 'responses', status, 'content', 'application/json', 'schema'].map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  return ajv.getSchema(`openapi#/${pointer}`);
}
