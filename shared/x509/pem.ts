import { ValidationError } from '../errors.ts';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BEGIN = '-----BEGIN ';
const BLOCK = /^-----BEGIN ([A-Z0-9 ]{1,64})-----([\s\S]*?)-----END \1-----/;

/**
 * Every PEM block in `text` (RFC 7468), in order; text around the blocks is ignored, and so is a
 * BEGIN line without its END. Blocks do not nest, so each is looked for only between its BEGIN
 * and the next one: every part of the text is read once, whatever it holds.
 */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (let at = text.indexOf(BEGIN); at !== -1; ) {
    const next = text.indexOf(BEGIN, at + BEGIN.length);
    const m = BLOCK.exec(text.slice(at, next === -1 ? undefined : next));
    if (m) blocks.push({ label: m[1], der: Buffer.from(m[2].replace(/[^A-Za-z0-9+/=]/g, ''), 'base64') });
    at = next;
  }
  return blocks;
}

export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The certificate blocks of a PEM bundle; `field` names the input for the error. */
export function certificateBlocks(text: string, field: string): Buffer[] {
  const blocks = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new ValidationError(`${field} holds no PEM CERTIFICATE block`, field);
  return blocks.map((b) => b.der);
}
