import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const SCHEMAS = resolve(dirname(fileURLToPath(import.meta.url)), '../events/schemas');

/** Validates event details against the JSON Schemas in events/schemas (one per detail-type). */
export function eventSchemaValidator(): (detailType: string, detail: unknown) => string | undefined {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  for (const file of readdirSync(SCHEMAS)) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')));
  return (detailType, detail) => {
    const validate = ajv.getSchema(`${detailType}.json`);
    if (!validate) return `no schema for detail-type ${detailType}`;
    return validate(detail) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'detail' });
  };
}
