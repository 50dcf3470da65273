import { appendFile, mkdir, open, rename, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SendResult } from './http-sink.ts';

/**
 * Appends one JSON document per line; each batch is a single write, so lines never interleave.
 * Past `maxBytes` the file is rotated (events.ndjson.1, .2, ... up to `keep`).
 *
 * Sending is idempotent for the batch last sent: a process killed after writing a batch and
 * before the outbox let go of it sends the same batch again after its restart, and only what the
 * file does not end with yet is written (a line the kill tore is cut first). Every line carries
 * its event's id, so a line can only match itself.
 */
export class NdjsonFileSink {
  constructor(readonly path: string, private readonly maxBytes = 50 * 1024 * 1024, private readonly keep = 5) {}

  private async rotate(): Promise<void> {
    const size = await stat(this.path).then((s) => s.size, () => 0);
    if (size < this.maxBytes) return;
    for (let i = this.keep - 1; i >= 1; i--) await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => undefined);
    await rename(this.path, `${this.path}.1`);
  }

  /** The last `bytes` of the file ('' when there is none). */
  private async tail(bytes: number): Promise<{ text: string; size: number }> {
    const file = await open(this.path, 'r').catch(() => undefined);
    if (!file) return { text: '', size: 0 };
    try {
      const { size } = await file.stat();
      const length = Math.min(bytes, size);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      return { text: buffer.toString('utf8'), size };
    } finally {
      await file.close();
    }
  }

  /** The batch's lines the file does not already end with (a torn last line is cut off first). */
  private async unwritten(lines: string[]): Promise<string[]> {
    const whole = `${lines.join('\n')}\n`;
    let { text, size } = await this.tail(Buffer.byteLength(whole) + 1);
    if (text && !text.endsWith('\n')) {
      const cut = text.lastIndexOf('\n') + 1;
      await truncate(this.path, size - Buffer.byteLength(text.slice(cut)));
      text = text.slice(0, cut);
    }
    for (let k = lines.length; k > 0; k--) {
      const head = `${lines.slice(0, k).join('\n')}\n`;
      if (text.endsWith(head) && (text.length === head.length || text[text.length - head.length - 1] === '\n')) return lines.slice(k);
    }
    return lines;
  }

  async send(lines: string[]): Promise<SendResult> {
    if (lines.length === 0) return { ok: true };
    await mkdir(dirname(this.path), { recursive: true });
    const rest = await this.unwritten(lines);
    if (rest.length === 0) return { ok: true };
    await this.rotate();
    await appendFile(this.path, `${rest.join('\n')}\n`, { mode: 0o600 });
    return { ok: true };
  }
}
