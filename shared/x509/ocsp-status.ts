import { createHash } from 'node:crypto';
import { colonHex } from './certificate-record.ts';
import { sameBytes } from './der.ts';
import { certIdOf, sameCertId } from './ocsp-request.ts';
import type { BasicOcspResponse, ParsedOcspResponse, ResponderId } from './ocsp-response.ts';
import type { ParsedCertificate } from './parse-certificate.ts';
import { subjectPublicKeyBits } from './public-key.ts';
import { stalenessProblem, type SourceStatus } from './revocation-status.ts';
import { signatureVerifies } from './signature.ts';

export interface OcspCheck {
  response: ParsedOcspResponse;
  /** The certificate asked about, and the CA certificate that issued it. */
  certificate: ParsedCertificate;
  issuer: ParsedCertificate;
  at: Date;
  /** The nonce the request carried, if it carried one. */
  nonce?: Uint8Array;
}

/**
 * A response without nextUpdate says newer information is always available (RFC 6960 2.4): it is
 * relied on only this long after its thisUpdate, long enough for one that was fetched just now.
 */
const MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 60 * 60_000;

function identifies(cert: ParsedCertificate, id: ResponderId): boolean {
  if ('byName' in id) return sameBytes(cert.subjectDer, id.byName);
  return createHash('sha1').update(subjectPublicKeyBits(cert.spkiDer)).digest().equals(id.byKey);
}

/** Why `responder` may not answer for `issuer`'s certificates (RFC 6960 4.2.2.2), or undefined when it may. */
function delegationProblem(responder: ParsedCertificate, issuer: ParsedCertificate, at: Date): string | undefined {
  const issued = sameBytes(responder.issuerDer, issuer.subjectDer) && signatureVerifies(responder.signatureAlgorithm, responder.tbsDer, responder.signature, issuer.spkiDer, responder.der);
  if (!issued) return `the responder certificate ${responder.subject} was not issued by ${issuer.subject}, the certificate's issuer`;
  // Only the purpose itself counts: anyExtendedKeyUsage does not authorise a responder.
  if (!responder.extensions.extendedKeyUsage?.includes('OCSPSigning')) return `the responder certificate ${responder.subject} lacks the id-kp-OCSPSigning extended key usage`;
  if (at < responder.notBefore || at > responder.notAfter) return `the responder certificate ${responder.subject} is not valid at ${at.toISOString()}`;
  if (responder.extensions.unhandledCritical.length) return `the responder certificate ${responder.subject} has unknown critical extensions ${responder.extensions.unhandledCritical.join(', ')}`;
  return undefined;
}

/** Why the response's signer is not one that may answer for the certificate (RFC 6960 3.2 (2), (3)), or undefined. */
function signerProblem(basic: BasicOcspResponse, issuer: ParsedCertificate, at: Date): string | undefined {
  const verifiesWith = (c: ParsedCertificate) => signatureVerifies(basic.signatureAlgorithm, basic.tbsResponseData, basic.signature, c.spkiDer);
  const problems: string[] = [];
  if (identifies(issuer, basic.responderId)) {
    if (verifiesWith(issuer)) return undefined;
    problems.push(`its signature does not verify with the key of the issuer ${issuer.subject}`);
  }
  for (const responder of basic.certs.filter((c) => identifies(c, basic.responderId))) {
    const delegation = delegationProblem(responder, issuer, at);
    if (!delegation && verifiesWith(responder)) return undefined;
    problems.push(delegation ?? `its signature does not verify with the key of the responder ${responder.subject}`);
  }
  return problems.length ? problems.join('; ') : `it is signed by a responder that is neither the issuer ${issuer.subject} nor a certificate sent with the response`;
}

/**
 * A certificate's status in an OCSP response (RFC 6960 3.2 and 4.2.2.2): `good`, `revoked` (with
 * its time and reason) or the responder's `unknown`, but only from a successful response, signed
 * by the issuer's key or by a responder certificate the issuer issued with id-kp-OCSPSigning, with
 * a SingleResponse whose CertID names this certificate (its serial under this issuer), a nonce
 * that matches the request's when both carry one, and thisUpdate <= `at` < nextUpdate. Anything
 * else is `unknown` with the reason (the response refused), never `good`.
 */
export function ocspStatus({ response, certificate, issuer, at, nonce }: OcspCheck): SourceStatus {
  if (response.responseStatus !== 'successful' || !response.basic) return { status: 'unknown', why: `the OCSP responder answered ${response.responseStatus} (RFC 6960 4.2.1)` };
  const basic = response.basic;
  const signer = signerProblem(basic, issuer, at);
  if (signer) return { status: 'unknown', why: `OCSP response refused: ${signer} (RFC 6960 4.2.2.2)` };
  const single = basic.responses.find((r) => r.certId && sameCertId(r.certId, certIdOf(certificate, issuer, r.certId.hashAlgorithm)));
  if (!single) {
    const about = basic.responses.map((r) => (r.certId ? `serial ${colonHex(r.certId.serialHex)}` : 'a CertID in an unknown hash')).join(', ') || 'no certificate';
    return { status: 'unknown', why: `OCSP response refused: it is about ${about}, not serial ${colonHex(certificate.serialHex)} of ${issuer.subject} (RFC 6960 3.2)` };
  }
  if (nonce && basic.nonce && !basic.nonce.equals(Buffer.from(nonce))) return { status: 'unknown', why: "OCSP response refused: its nonce is not the request's (RFC 8954)" };
  const stale = stalenessProblem('the OCSP response', single.thisUpdate, single.nextUpdate, at);
  if (stale) return { status: 'unknown', why: stale };
  if (!single.nextUpdate && at.getTime() - single.thisUpdate.getTime() > MAX_AGE_WITHOUT_NEXT_UPDATE_MS) {
    return { status: 'unknown', why: `the OCSP response has no nextUpdate and its thisUpdate ${single.thisUpdate.toISOString()} is over an hour old` };
  }
  const s = single.certStatus;
  if (s.kind === 'revoked') return { status: 'revoked', source: 'ocsp', revokedAt: s.revocationTime.toISOString(), reason: s.reason };
  if (s.kind === 'unknown') return { status: 'unknown', why: 'the OCSP responder does not know the certificate (certStatus unknown)' };
  return { status: 'good', source: 'ocsp', thisUpdate: single.thisUpdate.toISOString(), ...(single.nextUpdate ? { nextUpdate: single.nextUpdate.toISOString() } : {}) };
}
