import { isIP } from 'node:net';
import { certificateFields, newEvent } from '../../shared/events/envelope.ts';
import type { CheckedRevocation, Scan, ScanChunk, ScanResult, StoredCertificate } from '../../shared/model.ts';
import type { RevocationFetcher, ScanStore, TlsScanner } from '../../shared/ports.ts';
import { RevocationChecker } from '../../shared/revocation/revocation-checker.ts';
import type { ScanEndpoint } from '../../shared/scan-targets.ts';
import { validatePath, type ValidatedPath } from '../../shared/x509/chain-validation.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { toPem } from '../../shared/x509/pem.ts';
import { fingerprintSha256 } from '../../shared/x509/certificate-record.ts';
import { endpointFindings } from './endpoint-findings.ts';
import { certificateFindings } from '../../shared/findings/certificate-findings.ts';
import { announceDiscovery, type DiscoveryDeps } from './import-certificates.ts';
import { parseInventoriable, recordCertificate } from './record-certificate.ts';

export interface ScanDeps extends DiscoveryDeps {
  scans: ScanStore;
  scanner: TlsScanner;
  trustedRoots(): Promise<ParsedCertificate[]>;
  concurrency: number;
  /** Per connection (milliseconds). */
  timeoutMs: number;
  /** Also try TLS 1.0/1.1 on each endpoint (a second handshake). */
  checkLegacyProtocols: boolean;
  /** Where each served certificate's revocation status is asked (its CA's OCSP responder or CRL), within its own bounds. */
  revocationFetcher: RevocationFetcher;
  /** A fresh OCSP nonce. */
  ocspNonce(): Uint8Array;
}

interface Tally {
  certificates: Set<string>;
  changed: number;
  failures: number;
  done: number;
}

const PROGRESS_EVERY_MS = 1000;

/** The served leaf's status at the issuer the server sent with it (known even when no trusted root is reached); not checked without one. */
async function leafRevocation(validated: ValidatedPath, checker: RevocationChecker, now: Date): Promise<CheckedRevocation> {
  const [leaf, issuer] = validated.certificates;
  const status = issuer ? await checker.status(leaf, issuer, now) : { status: 'not-checked' as const, why: 'the server sent no certificate that issued it' };
  return { ...status, checkedAt: now.toISOString() };
}

async function scanEndpoint(scan: Scan, ep: ScanEndpoint, roots: ParsedCertificate[], checker: RevocationChecker, deps: ScanDeps, tally: Tally): Promise<ScanResult> {
  const base = { host: ep.host, port: ep.port, serverName: ep.serverName };
  let served;
  try {
    served = await deps.scanner(ep.host, ep.port, { serverName: ep.serverName, timeoutMs: deps.timeoutMs });
    if (served.chain.length === 0) throw new Error('the server sent no certificate');
  } catch (err) {
    tally.failures++;
    return { ...base, findings: [], error: handshakeFailure(err as NodeJS.ErrnoException) };
  }
  const [leafDer, ...rest] = served.chain;
  let leaf: ParsedCertificate;
  try {
    leaf = parseInventoriable(leafDer, `certificate served by ${ep.host}:${ep.port}`);
  } catch (err) {
    tally.failures++;
    return { ...base, protocol: served.protocol, cipher: served.cipher, findings: [], error: (err as Error).message };
  }
  const intermediates = rest.flatMap((der) => {
    try {
      return [parseCertificate(der)];
    } catch {
      return [];
    }
  });
  const now = deps.clock.now();
  const sighting = { source: 'scan' as const, address: isIP(ep.host) ? ep.host : undefined, chainPem: rest.map((d) => toPem(d)).join('') };
  const { certificate, created } = await recordCertificate(leafDer, sighting, deps);
  tally.certificates.add(certificate.id);
  if (created) {
    await announceDiscovery(certificate, { ...sighting, host: ep.host, port: ep.port }, deps);
  }
  const previous = await deps.scans.observeEndpoint(ep.host, ep.port, certificate.id, now.toISOString());
  if (previous && previous !== certificate.id) {
    tally.changed++;
    await deps.publisher.publish([newEvent('certificate.changed', { ...certificateFields(certificate), host: ep.host, port: ep.port, previousCertificateId: previous }, { now: () => now, newId: () => `changed:${scan.scanId}:${ep.host}:${ep.port}` })]);
  }
  let legacyProtocols = false;
  if (deps.checkLegacyProtocols) legacyProtocols = await deps.scanner(ep.host, ep.port, { serverName: ep.serverName, timeoutMs: deps.timeoutMs, legacyOnly: true }).then(() => true, () => false);
  const validated = validatePath({ leaf, intermediates, roots, at: now, host: ep.serverName, purpose: 'serverAuth' });
  const chain = served.chain.map(fingerprintSha256);
  const findings = endpointFindings(validated.verdict, { ...served, chainFingerprints: chain, legacyProtocols });
  await deps.certificates.recordEndpoint(certificate.id, { host: ep.host, port: ep.port, lastSeen: now.toISOString(), protocol: served.protocol, cipher: served.cipher, findings });
  const latest = await leafRevocation(validated, checker, now);
  // Revocation is for good: a later scan that cannot tell (its server left the issuer out, or the
  // CRL server is down) does not make a certificate found revoked look any better.
  const revocation = certificate.revocation?.status === 'revoked' && latest.status !== 'revoked' ? certificate.revocation : latest;
  await deps.certificates.update(certificate.id, { revocation });
  const checked = { ...certificate, revocation };
  if (revocation.status === 'revoked') await announceRevoked(checked, deps);
  return {
    ...base, certificateId: certificate.id, subject: certificate.subject, notAfter: certificate.notAfter, chain, protocol: served.protocol, cipher: served.cipher, legacyProtocols, findings,
    certificateFindings: certificateFindings(checked, { now, tlsServer: true }), revocation,
  };
}

/**
 * finding.raised for a certificate a scan finds revoked, every time (its id is the one
 * announceDiscovery would give it, so the trail and the SIEM keep one): an announcement a failed
 * publish lost is made by the next scan.
 */
async function announceRevoked(cert: StoredCertificate, deps: ScanDeps): Promise<void> {
  const finding = certificateFindings(cert, { now: deps.clock.now(), tlsServer: true }).find((f) => f.id === 'revoked');
  if (!finding) return;
  await deps.publisher.publish([newEvent('finding.raised', { ...certificateFields(cert), findingId: finding.id, severity: finding.severity, message: finding.message }, { now: () => deps.clock.now(), newId: () => `finding:${cert.id}:${finding.id}` })]);
}

/** A failed handshake in words a person scanning a network understands (OpenSSL's own are cryptic). */
function handshakeFailure(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ECONNRESET') return 'connection reset during the TLS handshake';
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return 'host name does not resolve';
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'host unreachable';
  if (/wrong version number|packet length too long|http request/i.test(err.message)) return 'not a TLS server (it answered in plain text)';
  if (/no protocols available|unsupported protocol|sslv3 alert handshake failure/i.test(err.message)) return 'no TLS version or cipher in common (a very old or very strict server)';
  return err.message.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]+:/, '').replace(/:\.\.\/deps\/openssl.*$/, '');
}

/** What scanning a chunk of endpoints found (ScanChunk.outcome). */
export type ChunkOutcome = NonNullable<ScanChunk['outcome']>;

/**
 * Scans `endpoints` (one chunk of `scan`) with bounded concurrency, a timeout per connection,
 * and a bound on the run (endpoints not reached by `deadline`, epoch milliseconds, are reported,
 * not scanned), recording what each serves into the inventory and the scan's results. `progress`
 * hears how many are done about once a second. Scanning the same chunk again (a redelivered work
 * item) rewrites the same results and re-sends the same event ids.
 */
export async function scanEndpoints(scan: Scan, endpoints: ScanEndpoint[], deadline: number, deps: ScanDeps, progress: (done: number) => Promise<void>): Promise<ChunkOutcome> {
  const roots = await deps.trustedRoots();
  // One checker for the chunk: a CA's CRL is fetched once however many of its certificates are served.
  const checker = new RevocationChecker({ fetcher: deps.revocationFetcher, newNonce: deps.ocspNonce });
  const tally: Tally = { certificates: new Set(), changed: 0, failures: 0, done: 0 };
  let next = 0;
  let lastProgress = Date.now();
  const worker = async () => {
    while (next < endpoints.length) {
      const ep = endpoints[next++];
      const base = { host: ep.host, port: ep.port, serverName: ep.serverName, findings: [] };
      let result: ScanResult;
      if (deps.clock.now().getTime() > deadline) {
        tally.failures++;
        result = { ...base, error: 'not scanned: the scan reached its time bound' };
      } else {
        result = await scanEndpoint(scan, ep, roots, checker, deps, tally).catch((err: Error) => {
          tally.failures++;
          return { ...base, error: err.message };
        });
      }
      await deps.scans.putResult(scan.scanId, result);
      tally.done++;
      if (Date.now() - lastProgress > PROGRESS_EVERY_MS) {
        lastProgress = Date.now();
        await progress(tally.done);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, endpoints.length) }, worker));
  return { certificateIds: [...tally.certificates], changed: tally.changed, failures: tally.failures };
}
