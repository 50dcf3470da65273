import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SendResult } from './http-sink.ts';

/**
 * Appends one JSON document per line; each batch is a single write, so lines never interleave.
 * Past `maxBytes` the file is rotated (events.ndjson.1, .2, ... up to `keep`).
 */
export class NdjsonFileSink {
  constructor(readonly path: string, private readonly maxBytes = 50 * 1024 * 1024, private readonly keep = 5) {}

  private async rotate(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size < this.maxBytes) return;
    for (let i = this.keep - 1; i >= 1; i--) await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => undefined);
    await rename(this.path, `${this.path}.1`);
  }

  async send(lines: string[]): Promise<SendResult> {
    if (lines.length === 0) return { ok: true };
    await mkdir(dirname(this.path), { recursive: true });
    await this.rotate();
    await appendFile(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
    return { ok: true };
  }
}
