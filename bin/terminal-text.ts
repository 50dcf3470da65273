/**
 * Control characters (C0 but newline and tab, DEL, C1) and bidirectional overrides, which a
 * certificate's subject or a server's message can carry to move a terminal's cursor, rewrite
 * what was printed before or reorder a line.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every such character written as a visible `\u{…}` escape, for human output only (JSON output escapes them itself). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}
