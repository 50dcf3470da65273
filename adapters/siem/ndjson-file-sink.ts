import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Appends one JSON document per line; each append is a single write, so lines never interleave. */
export class NdjsonFileSink {
  constructor(readonly path: string) {}

  async write(records: Record<string, unknown>[]): Promise<void> {
    if (records.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, records.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
  }
}
