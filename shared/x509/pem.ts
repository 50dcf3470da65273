import { ValidationError } from '../errors.ts';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order; text around the blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((m) => ({
    label: m[1],
    der: Buffer.from(m[2].replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'),
  }));
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
