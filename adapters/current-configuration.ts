import { ValidationError } from '../shared/errors.ts';
import type { ConfigRecord, ConfigStore } from '../shared/ports.ts';
import { emptyConfig, IN_DOCUMENT, parseSuiteConfig, type SuiteConfig } from './suite-config.ts';
import { logger } from './logger.ts';

/**
 * How stale a process's copy of the configuration may be: each invocation re-reads it (one
 * GetItem) when its copy is older, so a change reaches every function within this time.
 */
export const CONFIG_MAX_AGE_MS = 2_000;

/**
 * The suite configuration in force, as this process last read it from the table (one version,
 * parsed once). Before the first configuration is recorded, the defaults.
 */
export class CurrentConfiguration {
  private parsed: SuiteConfig;
  private hash: string | undefined;
  private readAt = -Infinity;

  /**
   * `base`: the folder files the configuration names are read from (the local configuration file's);
   * `lastingDisk`: whether file sinks may be configured (parseSuiteConfig) or run.
   */
  constructor(private readonly store: ConfigStore, private readonly base: string, private readonly siemFile: string, private readonly lastingDisk = true) {
    this.parsed = emptyConfig(siemFile);
  }

  get suite(): SuiteConfig {
    return this.parsed;
  }

  /** Re-reads the configuration when this copy is older than CONFIG_MAX_AGE_MS (or always, with `force`). */
  async refresh(force = false): Promise<SuiteConfig> {
    if (force || performance.now() - this.readAt >= CONFIG_MAX_AGE_MS) this.adopt(await this.store.latest());
    return this.parsed;
  }

  /**
   * Takes a version read from the table. One that does not read (a file it names is gone, a
   * stricter check) fails every invocation until it is replaced: never the defaults instead.
   */
  private adopt(record: ConfigRecord | undefined): void {
    if (record?.hash !== this.hash) {
      try {
        this.parsed = record ? this.inForce(record) : emptyConfig(this.siemFile);
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError(`the configuration in force (version ${record?.version}) does not read: ${err.message}; replace it (certops config set, or edit the configuration file and restart)`, err.field);
        throw err;
      }
      this.hash = record?.hash;
    }
    this.readAt = performance.now();
  }

  /**
   * A version in force. A file sink in it (accepted before file sinks were refused where no disk
   * lasts) is left out with a warning rather than stopping every function: the audit trail in the
   * table keeps the events it would have had.
   */
  private inForce(record: ConfigRecord): SuiteConfig {
    const parsed = parseSuiteConfig(record.document, IN_DOCUMENT, this.base, this.siemFile);
    if (this.lastingDisk) return parsed;
    const files = parsed.siemSinks.filter((s) => s.type === 'file');
    if (files.length) logger.warn('file SIEM sinks left out: the functions have no disk that outlives an invocation', { version: record.version, sinks: files.map((s) => s.name) });
    return { ...parsed, siemSinks: parsed.siemSinks.filter((s) => s.type !== 'file') };
  }

  /** Checks a document as it would be read in force; a ValidationError names the field's path. */
  check(document: Record<string, unknown>): SuiteConfig {
    return parseSuiteConfig(document, IN_DOCUMENT, this.base, this.siemFile, this.lastingDisk);
  }
}
