import { readFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { configDiff } from '../shared/config-diff.ts';
import type { ConfigChange, ConfigDiffEntry, ConfigRecord } from '../shared/ports.ts';
import { CliError, call, type ClientOptions } from './api-client.ts';

export const CONFIG_HELP = `  certops config get                             the configuration in force (YAML; --json: with its version and who set it)
  certops config set FILE                        put FILE (YAML or JSON) in force; a change to anything but scan targets and ports,
                                                 ACM regions and CT pacing waits for a second admin
  certops config diff FILE                       what FILE would change against the configuration in force
  certops config history [--limit N]             every version: who changed what, who approved it
  certops config changes [--status S] · certops config approve|reject CHANGE_ID [--comment TEXT]
                                                 proposed changes waiting for (or decided by) a second admin`;

/** FILE as a configuration document; a YAML mistake is one line naming the file and line. */
function readDocument(file: string | undefined): Record<string, unknown> {
  if (!file) throw new CliError('config set and config diff need a file (YAML or JSON)', 2);
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

function diffLines(diff: ConfigDiffEntry[]): string[] {
  return diff.map((d) => (d.before === undefined ? `+ ${d.path}: ${shown(d.after)}` : d.after === undefined ? `- ${d.path}: ${shown(d.before)}` : `~ ${d.path}: ${shown(d.before)} -> ${shown(d.after)}`));
}

const changeLine = (c: ConfigChange) => `${c.changeId}  ${c.status.padEnd(9)} proposed by ${c.proposedBy} at ${c.proposedAt}${c.decidedBy ? `, ${c.status} by ${c.decidedBy}` : ''}  (${c.changed.join(', ')})`;

/** `certops config ...`: prints what the API answered, or throws CliError. */
export async function configCommand(args: string[], options: { limit?: string; status?: string; comment?: string }, client: ClientOptions): Promise<{ human: string; data: unknown }> {
  const [sub, arg] = args;
  switch (sub) {
    case 'get': {
      const { body } = await call(client, 'GET', '/config');
      const record = body as ConfigRecord;
      const header = record.version ? `# version ${record.version}, by ${record.changedBy}${record.approvedBy ? ` approved by ${record.approvedBy}` : ''} at ${record.changedAt}\n` : '# no configuration recorded yet: the defaults apply\n';
      return { human: header + stringify(record.document).trimEnd(), data: record };
    }
    case 'set': {
      const { body } = await call(client, 'PUT', '/config', readDocument(arg));
      const human = body.status === 'pending'
        ? `waiting for a second admin: change ${body.changeId} (${body.changed.join(', ')}); another admin runs: certops config approve ${body.changeId}`
        : body.status === 'applied' ? `version ${body.version} in force (${body.changed.join(', ')})` : `unchanged: version ${body.version} is already this configuration`;
      return { human, data: body };
    }
    case 'diff': {
      const wanted = readDocument(arg);
      const { body } = await call(client, 'GET', '/config');
      const diff = configDiff(body.document ?? {}, wanted);
      return { human: diff.length ? diffLines(diff).join('\n') : `no differences from version ${body.version}`, data: { version: body.version, diff } };
    }
    case 'history': {
      const { body } = await call(client, 'GET', `/config/history${options.limit ? `?limit=${encodeURIComponent(options.limit)}` : ''}`);
      const rows = (body.items as Omit<ConfigRecord, 'document'>[]).map((v) => `v${v.version}  ${v.changedAt}  ${v.changedBy}${v.approvedBy ? ` (approved by ${v.approvedBy})` : ''}  ${v.location}\n${diffLines(v.diff).map((l) => `    ${l}`).join('\n')}`);
      return { human: rows.join('\n') || '(no configuration recorded yet)', data: body };
    }
    case 'changes': {
      const { body } = await call(client, 'GET', `/config/changes${options.status ? `?status=${encodeURIComponent(options.status)}` : ''}`);
      return { human: (body.items as ConfigChange[]).map(changeLine).join('\n') || '(no proposed changes)', data: body };
    }
    case 'approve':
    case 'reject': {
      if (!arg) throw new CliError(`config ${sub} needs a change id (certops config changes lists them)`, 2);
      const { body } = await call(client, 'POST', `/config/changes/${encodeURIComponent(arg)}/${sub}`, { comment: options.comment });
      return { human: `${changeLine(body)}\n${diffLines(body.diff).map((l) => `    ${l}`).join('\n')}`, data: body };
    }
    default:
      throw new CliError('config: the subcommands are get, set FILE, diff FILE, history, changes, approve ID and reject ID', 2);
  }
}
