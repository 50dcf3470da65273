import { isIP } from 'node:net';
import type { Finding } from '../model.ts';
import type { CertificateRecord } from '../x509/certificate-record.ts';
import { knownRevocation, type RevocationFacts } from '../revocation/inventory-revocation.ts';
import { expiryBand, timeLeft } from '../expiry-bands.ts';

const DAY_MS = 86_400_000;
/** CA/Browser Forum ballot SC31: publicly trusted TLS certificates issued from 2020-09-01 live at most 398 days. */
const MAX_PUBLIC_DAYS = 398;
const MAX_PUBLIC_SINCE = Date.UTC(2020, 8, 1);
const WEAK_SIGNATURES = /^(md2|md5|sha1)|with-SHA1$|dsa-with-SHA1/i;
const STRONG_CURVES = ['P256', 'P384', 'P521'];
const WEAK_CURVES = ['P224'];
/** Names no public CA may certify: reserved and internal suffixes. */
const NON_PUBLIC = /(^|\.)(test|example|invalid|localhost|local|internal|intranet|corp|lan|home\.arpa)$|(^|\.)example\.(com|net|org)$/;
const PRIVATE_IP = /^(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|::1$|f[cd])/i;

export interface FindingContext {
  now: Date;
  /** The certificate is served by a TLS server or was issued for one (profile tls-server). */
  tlsServer?: boolean;
}

const days = (ms: number) => Math.floor(ms / DAY_MS);
const date = (iso: string) => iso.slice(0, 10);

function hasPublicName(c: CertificateRecord): boolean {
  const names = c.subjectAlternativeNames.length ? c.subjectAlternativeNames : c.commonName ? [c.commonName] : [];
  return names.some((n) => (isIP(n) ? !PRIVATE_IP.test(n) : n.includes('.') && !NON_PUBLIC.test(n.toLowerCase())));
}

/**
 * What is wrong with a certificate on its own, as of `now`: each finding has a stable id (the
 * same problem keeps the same id), a severity and one sentence a person can act on. With the
 * inventory's revocation facts, a revoked certificate is a finding too.
 */
export function certificateFindings(c: CertificateRecord & RevocationFacts, ctx: FindingContext): Finding[] {
  const out: Finding[] = [];
  const add = (id: string, severity: Finding['severity'], message: string) => out.push({ id, severity, message });
  const now = ctx.now.getTime();
  const notAfter = Date.parse(c.notAfter);
  const notBefore = Date.parse(c.notBefore);
  const isCa = c.basicConstraints?.ca === true;
  const left = notAfter - now;

  const band = expiryBand(c.notBefore, c.notAfter, ctx.now);
  const expires = `expires in ${timeLeft(left)} (${date(c.notAfter)})`;
  if (left < 0) add('expired', 'critical', `expired on ${date(c.notAfter)}: replace it now`);
  else if (band !== undefined && band <= 7) add('expiring-7d', 'critical', `${expires}: renew it today`);
  else if (band === 14) add('expiring-14d', 'high', `${expires}: renew it this week`);
  else if (band === 30) add('expiring-30d', 'medium', `${expires}: plan its renewal`);
  if (notBefore > now) add('not-yet-valid', 'high', `not valid until ${date(c.notBefore)}: clients will refuse it before then`);

  const revocation = knownRevocation(c);
  if (revocation.status === 'revoked') add('revoked', 'high', `revoked on ${date(revocation.revokedAt)} (${revocation.reason}): clients that check revocation refuse it; replace it wherever it is still served`);

  if (c.selfSigned && !isCa) add('self-signed-leaf', 'medium', 'self-signed: no client trusts it unless pinned; issue it from a CA');
  if (c.keyType === 'RSA' && (c.keySize ?? 0) < 2048) add('weak-rsa-key', 'high', `RSA key of ${c.keySize} bits: use at least 2048`);
  if (c.keyType === 'DSA') add('weak-key-type', 'high', 'DSA key: TLS clients no longer accept DSA; use ECDSA or RSA');
  if (c.keyType === 'EC' && WEAK_CURVES.includes(c.curve ?? '')) add('weak-curve', 'high', `curve ${c.curve} is too weak: use P-256 or P-384`);
  else if (c.keyType === 'EC' && !STRONG_CURVES.includes(c.curve ?? '')) add('unknown-curve', 'medium', `curve ${c.curve} is not one TLS clients support: use P-256 or P-384`);
  if (WEAK_SIGNATURES.test(c.signatureAlgorithm)) add('weak-signature', 'high', `signed with ${c.signatureAlgorithm}: reissue with SHA-256 or better`);
  if (!isCa && notBefore >= MAX_PUBLIC_SINCE && !c.selfSigned && hasPublicName(c) && notAfter - notBefore > MAX_PUBLIC_DAYS * DAY_MS) {
    add('validity-too-long', 'medium', `valid for ${days(notAfter - notBefore)} days: publicly trusted certificates may last at most ${MAX_PUBLIC_DAYS}`);
  }
  if (!isCa && c.subjectAlternativeNames.length === 0) add('no-san', 'medium', 'no subject alternative names: browsers ignore the common name; reissue with SANs');
  const wildcards = c.subjectAlternativeNames.filter((n) => n.startsWith('*.'));
  if (c.encodingNotes?.length) add('nonstandard-encoding', 'low', `encoded outside the standard, read anyway: ${c.encodingNotes.join('; ')}; strict clients may refuse it`);
  if (wildcards.length) add('wildcard', 'low', `wildcard ${wildcards.join(', ')}: one key serves every name below; prefer named certificates where you can`);
  if (ctx.tlsServer && c.extendedKeyUsage && !c.extendedKeyUsage.some((u) => u === 'serverAuth' || u === 'anyExtendedKeyUsage')) {
    add('missing-server-auth', 'high', `served for TLS but its extended key usage (${c.extendedKeyUsage.join(', ')}) lacks serverAuth: clients will refuse it`);
  }
  if (ctx.tlsServer && isCa) add('ca-leaf', 'high', 'a CA certificate (CA:true) is used as a server certificate: issue a leaf with CA:false');
  return out;
}
