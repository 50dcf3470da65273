import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { pemBlocks, toPem } from '../shared/x509/pem.ts';

export interface Collected {
  /** PEM of each certificate found, with the file it came from. */
  certificates: { file: string; pem: string }[];
  /** Private keys found and left behind: they never leave this machine. */
  privateKeys: number;
  unreadable: { file: string; reason: string }[];
  /** DER files that are not certificates (a DER private key looks alike at first): never sent. */
  skipped: string[];
}

function walk(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry), out);
  else if (st.isFile()) out.push(path);
}

/** Whether DER bytes are an X.509 certificate: a DER private key also starts with a SEQUENCE, and must never be sent. */
function isCertificate(der: Uint8Array): boolean {
  try {
    parseCertificate(der);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every certificate in the files and folders given (recursively): PEM blocks, or a DER file as a
 * whole when it parses as a certificate. Anything else stays on this machine.
 */
export function collectCertificates(paths: string[]): Collected {
  const files: string[] = [];
  const out: Collected = { certificates: [], privateKeys: 0, unreadable: [], skipped: [] };
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
    } else if (raw[0] === 0x30 && isCertificate(raw)) {
      out.certificates.push({ file, pem: toPem(raw) });
    } else if (raw[0] === 0x30) {
      out.skipped.push(file);
    }
  }
  return out;
}
