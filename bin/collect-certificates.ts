import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pemBlocks, toPem } from '../shared/x509/pem.ts';

export interface Collected {
  /** PEM of each certificate found, with the file it came from. */
  certificates: { file: string; pem: string }[];
  /** Private keys found and left behind: they never leave this machine. */
  privateKeys: number;
  unreadable: { file: string; reason: string }[];
}

function walk(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry), out);
  else if (st.isFile()) out.push(path);
}

/** Every certificate in the files and folders given (recursively): PEM blocks, or a DER file as a whole. */
export function collectCertificates(paths: string[]): Collected {
  const files: string[] = [];
  const out: Collected = { certificates: [], privateKeys: 0, unreadable: [] };
  for (const p of paths) {
    try {
      walk(p, files);
    } catch (err) {
      out.unreadable.push({ file: p, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
  }
  for (const file of files) {
    const raw = readFileSync(file);
    if (raw.includes('-----BEGIN')) {
      const blocks = pemBlocks(raw.toString('latin1'));
      out.privateKeys += blocks.filter((b) => /PRIVATE KEY/.test(b.label)).length;
      out.certificates.push(...blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => ({ file, pem: toPem(b.der) })));
    } else if (raw[0] === 0x30 && raw.length > 64) {
      out.certificates.push({ file, pem: toPem(raw) });
    }
  }
  return out;
}
