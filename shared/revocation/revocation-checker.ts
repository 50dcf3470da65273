import type { RevocationFetcher } from '../ports.ts';
import { concurrencyLimit } from '../concurrency-limit.ts';
import { parseCrl, type ParsedCrl } from '../x509/crl.ts';
import { crlFinding, notListedStatus, type CrlFinding, type NotListed } from '../x509/crl-status.ts';
import type { CrlDistributionPoint } from '../x509/extensions.ts';
import { ocspRequestDer } from '../x509/ocsp-request.ts';
import { parseOcspResponse } from '../x509/ocsp-response.ts';
import { ocspStatus } from '../x509/ocsp-status.ts';
import type { ParsedCertificate } from '../x509/parse-certificate.ts';
import type { RevocationStatus, SourceStatus } from '../x509/revocation-status.ts';

export interface RevocationCheckerDeps {
  fetcher: RevocationFetcher;
  /** A fresh OCSP nonce for each request (RFC 8954: 1 to 32 bytes; 16 random ones do). */
  newNonce(): Uint8Array;
  /** Bytes of CRL kept parsed between certificates; 16 MiB unless given. */
  rememberedCrlBytes?: number;
}

/** CRLs one checker keeps: those of the few CAs a scan meets; past this the oldest is fetched again if needed. */
const MAX_REMEMBERED_CRLS = 32;
/**
 * Bytes of CRL the checker keeps parsed (a parsed entry takes some six times its bytes): servers
 * in a scanned range name their own CRLs, so what a scan holds is bounded by certops, not by them.
 */
const MAX_REMEMBERED_CRL_BYTES = 16 * 1024 * 1024;
/** CRLs fetched and parsed at once: each may be as large as the fetcher allows. */
const CRL_SLOTS = 2;

const fetchable = (url: string) => /^https?:\/\//i.test(url);
const message = (err: unknown) => (err as Error).message;

type Unknown = Extract<SourceStatus, { status: 'unknown' }>;

/** A source's answer, saying which source it was. */
function from<A extends SourceStatus | CrlFinding>(kind: 'OCSP' | 'CRL', url: string, answer: A): A | Unknown {
  if (answer.status === 'unknown') return { status: 'unknown', why: `${kind} ${url}: ${(answer as Unknown).why}` };
  return { ...answer, url };
}

/**
 * Why a distribution point's CRL cannot be fetched and used, or undefined when it can: certops
 * processes neither indirect CRLs (a cRLIssuer, RFC 5280 4.2.1.13, 5.2.5) nor names other than
 * http(s) URIs, so such a point leaves the certificate's status unknown rather than unchecked.
 */
function unusablePoint(point: CrlDistributionPoint): string | undefined {
  const names = point.name && [...point.name.uris, ...point.name.others].join(', ');
  if (point.crlIssuer) return `its CRL distribution point${names ? ` (${names})` : ''} names a cRLIssuer: its CRL is an indirect CRL, which certops does not process (RFC 5280 4.2.1.13, 5.2.5)`;
  if (!point.name) return 'its CRL distribution point names no CRL (RFC 5280 4.2.1.13)';
  if (!point.name.uris.some(fetchable)) return `its CRL distribution point is one certops does not fetch (${names})`;
  return undefined;
}

/**
 * Revocation checking for one run (a `verify`, a scan): OCSP first where a certificate names an
 * http(s) responder, else (or when OCSP gives no answer) the CRLs of its distribution points, as
 * many as it takes to cover every revocation reason. A CRL is fetched and parsed once per URL for
 * the checker's life, failures included, so a scan of many certificates of one CA asks its server
 * once and a dead server is not asked again. Nothing here reads a clock: `at` is given.
 */
export class RevocationChecker {
  private readonly crls = new Map<string, Promise<ParsedCrl>>();
  /** The size of each CRL fetched, by URL, for the byte budget. */
  private readonly crlBytes = new Map<string, number>();
  private readonly inSlot = concurrencyLimit(CRL_SLOTS);

  constructor(private readonly deps: RevocationCheckerDeps) {}

  private crl(url: string): Promise<ParsedCrl> {
    let crl = this.crls.get(url);
    if (!crl) {
      crl = this.inSlot(async () => {
        const der = await this.deps.fetcher.crl(url);
        this.crlBytes.set(url, der.length);
        this.forgetBeyondBudget();
        return parseCrl(der, `the CRL at ${url}`);
      });
      crl.catch(() => undefined); // a failure is reported to whoever awaits it; remembered, not unhandled
      if (this.crls.size >= MAX_REMEMBERED_CRLS) this.forget(this.crls.keys().next().value!);
      this.crls.set(url, crl);
    }
    return crl;
  }

  private forget(url: string): void {
    this.crls.delete(url);
    this.crlBytes.delete(url);
  }

  /** Drops the oldest CRLs until what is kept fits the byte budget (one larger than the whole budget is used once, not kept). */
  private forgetBeyondBudget(): void {
    let total = [...this.crlBytes.values()].reduce((n, b) => n + b, 0);
    for (const [url, bytes] of this.crlBytes) {
      if (total <= (this.deps.rememberedCrlBytes ?? MAX_REMEMBERED_CRL_BYTES)) return;
      this.forget(url);
      total -= bytes;
    }
  }

  private async byOcsp(url: string, certificate: ParsedCertificate, issuer: ParsedCertificate, at: Date): Promise<SourceStatus> {
    const nonce = this.deps.newNonce();
    try {
      const response = parseOcspResponse(await this.deps.fetcher.ocsp(url, ocspRequestDer(certificate, issuer, nonce)), `the OCSP response from ${url}`);
      return from('OCSP', url, ocspStatus({ response, certificate, issuer, at, nonce }));
    } catch (err) {
      return { status: 'unknown', why: `OCSP ${url}: ${message(err)}` };
    }
  }

  private async byCrl(url: string, certificate: ParsedCertificate, issuer: ParsedCertificate, point: CrlDistributionPoint, at: Date): Promise<CrlFinding> {
    try {
      return from('CRL', url, crlFinding({ crl: await this.crl(url), certificate, issuer, distributionPoint: url, reasons: point.reasons, at }));
    } catch (err) {
      return { status: 'unknown', why: `CRL ${url}: ${message(err)}` };
    }
  }

  /** What the CRL of one distribution point says, from the first of its http(s) URIs that answers (each names the same CRL, RFC 5280 4.2.1.13). */
  private async byPoint(point: CrlDistributionPoint, certificate: ParsedCertificate, issuer: ParsedCertificate, at: Date): Promise<CrlFinding> {
    const unusable = unusablePoint(point);
    if (unusable) return { status: 'unknown', why: unusable };
    const whys: string[] = [];
    for (const url of point.name?.uris.filter(fetchable) ?? []) {
      const finding = await this.byCrl(url, certificate, issuer, point, at);
      if (finding.status !== 'unknown') return finding;
      whys.push(finding.why);
    }
    return { status: 'unknown', why: whys.join('; ') };
  }

  /**
   * The status on the CRLs of the certificate's distribution points, asked in order (RFC 5280
   * 6.3.3): `revoked` as soon as one lists it; `good` once those not listing it cover every reason
   * between them (a point may name some reasons, a CRL list only some); else `unknown`, with why.
   */
  private async byCrls(points: CrlDistributionPoint[], certificate: ParsedCertificate, issuer: ParsedCertificate, at: Date): Promise<SourceStatus> {
    const notListed: NotListed[] = [];
    const whys: string[] = [];
    for (const point of points) {
      const finding = await this.byPoint(point, certificate, issuer, at);
      if (finding.status === 'revoked') return finding;
      if (finding.status === 'unknown') {
        whys.push(finding.why);
        continue;
      }
      notListed.push(finding);
      const together = notListedStatus(notListed);
      if (together.status === 'good') return together;
    }
    const partly = notListed.length ? notListedStatus(notListed) : undefined;
    if (partly?.status === 'unknown') whys.unshift(partly.why);
    return { status: 'unknown', why: whys.join('; ') };
  }

  /**
   * The status of `certificate` as `issuer` (the CA certificate that issued it) publishes it at
   * `at`: `good` or `revoked` from OCSP when its http(s) responder answers with authentic, current
   * data, else from the CRLs of its distribution points (byCrls); `unknown` with every source's
   * reason when neither does, including when the certificate names only sources certops cannot
   * fetch or process (ldap:, a directoryName, an indirect CRL); `not-checked` only when it names
   * no source at all.
   */
  async status(certificate: ParsedCertificate, issuer: ParsedCertificate, at: Date): Promise<RevocationStatus> {
    const { ocspUrls, crlDistributionPoints: points } = certificate.extensions;
    if (ocspUrls.length === 0 && points.length === 0) return { status: 'not-checked', why: 'it names no CRL distribution point and no OCSP responder' };
    const whys: string[] = [];
    const ocsp = ocspUrls.find(fetchable);
    if (ocsp) {
      const status = await this.byOcsp(ocsp, certificate, issuer, at);
      if (status.status !== 'unknown') return status;
      whys.push(status.why);
    } else if (ocspUrls.length) {
      whys.push(`its OCSP responder is one certops does not fetch (${ocspUrls.join(', ')})`);
    }
    if (points.length) {
      const status = await this.byCrls(points, certificate, issuer, at);
      if (status.status !== 'unknown') return status;
      whys.push(status.why);
    }
    return { status: 'unknown', why: whys.join('; ') };
  }

  /**
   * The status of each certificate of a path (leaf first), each as the next one in the path
   * publishes it; the last is `not-checked`: a trust anchor when `anchored` (anchors are trusted
   * as configured, not by revocation data), else a certificate whose issuer is not known.
   */
  async path(path: ParsedCertificate[], anchored: boolean, at: Date): Promise<RevocationStatus[]> {
    const last: RevocationStatus = { status: 'not-checked', why: anchored ? 'a trust anchor' : 'its issuer is not in the chain' };
    return Promise.all(path.map((cert, i) => (i === path.length - 1 ? last : this.status(cert, path[i + 1], at))));
  }
}
