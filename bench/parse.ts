// npm run bench:parse — certificates per second parsed into certops' normalised record, beside
// Node's own crypto.X509Certificate parsing the same corpus in the same process.
import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { certificateRecord } from '../shared/x509/certificate-record.ts';
import { pemBlocks } from '../shared/x509/pem.ts';

const corpus = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../test/fixtures/certs');
const certs: Buffer[] = [];
for (const dir of ['zlint', 'gct-realworld']) {
  for (const f of readdirSync(join(corpus, dir)).filter((f) => /\.(pem|der)$/.test(f))) {
    const raw = readFileSync(join(corpus, dir, f));
    const ders = raw.includes('-----BEGIN') ? pemBlocks(raw.toString('latin1')).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der) : [raw];
    for (const der of ders) {
      try {
        certificateRecord(der);
        new X509Certificate(der);
        certs.push(der);
      } catch {
        // both parsers must accept a certificate for the comparison to be fair
      }
    }
  }
}

let sink = 0;
/** What Node gives for the same fields: names, serial, validity, fingerprints, SANs, key usage, CA flag, key type. */
function nodeParse(der: Buffer) {
  const x = new X509Certificate(der);
  sink += (x.subject?.length ?? 0) + (x.issuer?.length ?? 0) + x.serialNumber.length + x.validFrom.length + x.validTo.length + x.fingerprint256.length + x.fingerprint.length + (x.subjectAltName?.length ?? 0) + (x.infoAccess?.length ?? 0) + (x.keyUsage?.length ?? 0) + (x.ca ? 1 : 0);
}
function certopsParse(der: Buffer) {
  const r = certificateRecord(der);
  sink += r.subject.length + r.subjectAlternativeNames.length;
}

function rate(fn: (der: Buffer) => void, ms: number): number {
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ms) {
    for (const der of certs) fn(der);
    n += certs.length;
  }
  return n / ((performance.now() - start) / 1000);
}

// Warm up both, then alternate rounds so neither gets the quieter moments of the machine.
rate(nodeParse, 500);
rate(certopsParse, 500);
const node: number[] = [];
const ours: number[] = [];
for (let round = 0; round < 5; round++) {
  node.push(rate(nodeParse, 1000));
  ours.push(rate(certopsParse, 1000));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const before = process.memoryUsage().heapUsed;
const records = certs.map((c) => certificateRecord(c));
const bytesPerRecord = (process.memoryUsage().heapUsed - before) / records.length;
console.log(`corpus: ${certs.length} certificates (zlint + real-world, the ones both parsers accept)`);
console.log(`node crypto.X509Certificate: ${Math.round(median(node))} certificates/s`);
console.log(`certops certificateRecord:   ${Math.round(median(ours))} certificates/s`);
console.log(`ratio certops/node: ${(median(ours) / median(node)).toFixed(2)} (target >= 0.8)`);
console.log(`heap per record: ~${Math.round(bytesPerRecord)} bytes`);
if (sink < 0) console.log(sink);
