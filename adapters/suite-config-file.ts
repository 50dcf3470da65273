import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ValidationError } from '../shared/errors.ts';
import { emptyConfig, parseSuiteConfig, type SuiteConfig } from './suite-config.ts';

// Apart from suite-config.ts: only the local stack and bootstrap read a file (and need a YAML
// parser); functions read the configuration the table holds.
/** Reads and checks the file; a mistake is a ValidationError naming the file, line and field. Without a file, the empty configuration. */
export function loadSuiteConfig(path: string | undefined, siemFile: string): SuiteConfig {
  if (!path || !existsSync(path)) return emptyConfig(siemFile);
  const text = readFileSync(path, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new ValidationError(`${path}:${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`, 'config');
  }
  /** file:line of a field (dotted path; list indexes as numbers), or of its nearest parent that exists. */
  const at = (field: string) => {
    const parts = field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    for (let n = parts.length; n > 0; n--) {
      const node = doc.getIn(parts.slice(0, n), true) as { range?: [number] } | undefined;
      if (node?.range) return `${path}:${lines.linePos(node.range[0]).line}`;
    }
    return path;
  };
  return parseSuiteConfig((doc.toJS() ?? {}) as Record<string, unknown>, at, dirname(path), siemFile);
}
