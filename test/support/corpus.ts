import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pemBlocks } from '../../shared/x509/pem.ts';
import { ROOT } from './processes.ts';

export const CORPUS = join(ROOT, 'test/fixtures/certs');

/** The certificates of a corpus file (PEM blocks, or the file itself when it is DER). */
export function corpusCertificates(dir: string, file: string): Buffer[] {
  const raw = readFileSync(join(CORPUS, dir, file));
  return raw.includes('-----BEGIN') ? pemBlocks(raw.toString('latin1')).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der) : [raw];
}

export function corpusFiles(dir: string): string[] {
  return readdirSync(join(CORPUS, dir)).filter((f) => /\.(pem|der|crt)$/.test(f)).sort();
}

export function expectations<T>(dir: string): Record<string, T> {
  return JSON.parse(readFileSync(join(CORPUS, dir, 'EXPECTATIONS.json'), 'utf8')).files;
}
