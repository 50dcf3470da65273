import { readFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import type { ConfigChange, ConfigDiffEntry, ConfigPreview, ConfigRecord } from '../shared/ports.ts';
import { CliError, call, type ClientOptions } from './api-client.ts';
import { DEFAULT_POLICY } from '../shared/policy.ts';

/** FILE as a configuration document; a YAML mistake is one line naming the file and line. */
function readDocument(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`, 2);
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length) throw new CliError(`${file}: ${doc.errors[0].message.split('\n')[0]}`, 2);
  const value = doc.toJS() ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${file}: the configuration must be a mapping`, 2);
  return value;
}

const shown = (v: unknown) => JSON.stringify(v);

/** The default policy as comments to start from: uncommented, it is a valid `policy` section. */
const DEFAULT_POLICY_TO_EDIT = [
  '# The policy in force by default, to start from (uncomment and edit; config set then asks a second admin):',
  ...stringify({ policy: DEFAULT_POLICY }).trimEnd().split('\n').map((line) => `# ${line}`),
].join('\n');

function diffLines(diff: ConfigDiffEntry[]): string[] {
  return diff.map((d) => (d.before === undefined ? `+ ${d.path}: ${shown(d.after)}` : d.after === undefined ? `- ${d.path}: ${shown(d.before)}` : `~ ${d.path}: ${shown(d.before)} -> ${shown(d.after)}`));
}

const changeLine = (c: ConfigChange) => `${c.changeId}  ${c.status.padEnd(9)} proposed by ${c.proposedBy} at ${c.proposedAt}${c.decidedBy ? `, ${c.status} by ${c.decidedBy}` : ''}  (${c.changed.join(', ')})`;

/** A `certops config` subcommand, as the command line defines it. */
export type ConfigSubcommand = 'get' | 'set' | 'diff' | 'history' | 'changes' | 'approve' | 'reject';

/** `certops config SUB [ARG]`: what the API answered, to print; throws CliError. */
export async function configCommand(sub: ConfigSubcommand, arg: string, options: { limit?: string; status?: string; comment?: string }, client: ClientOptions): Promise<{ human: string; data: unknown }> {
  switch (sub) {
    case 'get': {
      const { body } = await call(client, 'GET', '/config');
      const record = body as ConfigRecord;
      const header = record.version ? `# version ${record.version}, by ${record.changedBy}${record.approvedBy ? ` approved by ${record.approvedBy}` : ''} at ${record.changedAt}\n` : `# no configuration recorded yet: the defaults apply\n${DEFAULT_POLICY_TO_EDIT}\n`;
      // An empty document prints as nothing (not `{}`), so sections can be appended to what it printed.
      return { human: header + (Object.keys(record.document ?? {}).length ? stringify(record.document).trimEnd() : ''), data: record };
    }
    case 'set': {
      const { body } = await call(client, 'PUT', '/config', readDocument(arg));
      const human = body.status === 'pending'
        ? `waiting for a second admin: change ${body.changeId} (${body.changed.join(', ')}); another admin runs: certops config approve ${body.changeId}`
        : body.status === 'applied' ? `version ${body.version} in force (${body.changed.join(', ')})` : `unchanged: version ${body.version} is already this configuration`;
      return { human, data: body };
    }
    case 'diff': {
      // The API checks the document as `config set` would: a copy it would refuse is refused here too.
      const { body } = await call(client, 'PUT', '/config?dryRun=true', readDocument(arg));
      const preview = body as ConfigPreview;
      const who = preview.wouldBe === 'pending' ? 'config set would propose it: a second admin approves it' : 'config set would apply it at once';
      return { human: preview.diff.length ? `${diffLines(preview.diff).join('\n')}\n(${who})` : `no differences from version ${preview.version}`, data: preview };
    }
    case 'history': {
      const { body } = await call(client, 'GET', `/config/history${options.limit ? `?limit=${encodeURIComponent(options.limit)}` : ''}`);
      const rows = (body.items as Omit<ConfigRecord, 'document'>[]).map((v) => `v${v.version}  ${v.changedAt}  ${v.changedBy}${v.approvedBy ? ` (approved by ${v.approvedBy})` : ''}${v.changedBy.endsWith(v.location) ? '' : `  ${v.location}`}\n${diffLines(v.diff).map((l) => `    ${l}`).join('\n')}`);
      return { human: rows.join('\n') || '(no configuration recorded yet)', data: body };
    }
    case 'changes': {
      const { body } = await call(client, 'GET', `/config/changes${options.status ? `?status=${encodeURIComponent(options.status)}` : ''}`);
      return { human: (body.items as ConfigChange[]).map(changeLine).join('\n') || '(no proposed changes)', data: body };
    }
    case 'approve':
    case 'reject': {
      const { body } = await call(client, 'POST', `/config/changes/${encodeURIComponent(arg)}/${sub}`, { comment: options.comment });
      return { human: `${changeLine(body)}\n${diffLines(body.diff).map((l) => `    ${l}`).join('\n')}`, data: body };
    }
  }
}
