import { existsSync } from 'node:fs';
import { loadSuiteConfig } from '../adapters/suite-config-file.ts';
import type { Runtime } from '../adapters/runtime.ts';
import { configHash, recordConfiguration } from '../services/inventory/config-changes.ts';

/**
 * The local configuration file, checked (a mistake stops the start, naming file, line and field)
 * and put in force as the next version when it changed since it was last imported: an edit
 * between two starts is a change on the record, and a change made through the API is not undone
 * by a restart with the same file, nor by removing the file. The file is the host's: it needs no
 * second admin.
 * @returns the version put in force, or undefined when the file brought nothing new.
 */
export async function importConfigFile(rt: Runtime): Promise<number | undefined> {
  const file = rt.config.configFile;
  // No file: nothing to import. A file removed does not empty the configuration in force.
  if (!existsSync(file)) return undefined;
  const document = loadSuiteConfig(file, rt.config.siemFile).document;
  const hash = configHash(document);
  if (hash === (await rt.configurations.importedFrom(file))) return undefined;
  const recorded = await recordConfiguration(document, { changedBy: `file ${file}`, location: file }, rt);
  await rt.configurations.markImported(file, hash);
  return recorded?.version;
}
