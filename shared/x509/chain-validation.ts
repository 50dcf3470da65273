import { isIP } from 'node:net';
import type { GeneralNames } from './general-names.ts';
import { matchesHost } from './host-name.ts';
import type { ParsedCertificate } from './parse-certificate.ts';
import { signatureVerifies } from './signature.ts';
import { fingerprintSha256 } from './certificate-record.ts';

export type Purpose = 'serverAuth' | 'clientAuth';

export interface ChainInput {
  leaf: ParsedCertificate;
  /** Candidates for the path, in any order; the ones not needed are ignored. */
  intermediates: ParsedCertificate[];
  roots: ParsedCertificate[];
  at: Date;
  host?: string;
  purpose?: Purpose;
}

export interface ChainLink {
  subject: string;
  issuer: string;
  fingerprintSha256: string;
  notAfter: string;
}

export interface ChainVerdict {
  valid: boolean;
  /** Every problem found, each a sentence naming the certificate it concerns. */
  reasons: string[];
  /** Leaf first, trust anchor last (as far as a path could be built). */
  path: ChainLink[];
}

const MAX_DEPTH = 10;
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
const link = (c: ParsedCertificate): ChainLink => ({ subject: c.subject, issuer: c.issuer, fingerprintSha256: fingerprintSha256(c.der), notAfter: c.notAfter.toISOString() });

/** Could `issuer` have issued `child`: its subject is the child's issuer, key ids agree, and its key verifies the child's signature. */
function issued(issuer: ParsedCertificate, child: ParsedCertificate): boolean {
  return mayHaveIssued(issuer, child) && signatureVerifies(child.signatureAlgorithm, child.tbsDer, child.signature, issuer.spkiDer, child.der);
}

/** The cheap half of `issued`: names chain and key identifiers (when both are present) agree. */
function mayHaveIssued(issuer: ParsedCertificate, child: ParsedCertificate): boolean {
  if (!sameBytes(issuer.subjectDer, child.issuerDer)) return false;
  const aki = child.extensions.authorityKeyId;
  const ski = issuer.extensions.subjectKeyId;
  return !(aki && ski && aki !== ski);
}

const isAnchor = (c: ParsedCertificate, roots: ParsedCertificate[]) => roots.some((r) => sameBytes(r.subjectDer, c.subjectDer) && sameBytes(r.spkiDer, c.spkiDer));

/**
 * How much work one path search may do, as Go and webpki bound theirs: a served chain can offer
 * many certificates that all issue each other, and every order of them is a path to try.
 */
const MAX_SIGNATURE_CHECKS = 100;
const MAX_STEPS = 1000;

/**
 * Depth-first path building from the leaf to a trust anchor; returns the longest partial path
 * when none is complete. Each (issuer, child) pair is checked once, a certificate from which no
 * anchor was reached is not tried again, and the search gives up (`exhausted`) past its budget.
 */
function buildPath(input: ChainInput): { path: ParsedCertificate[]; anchored: boolean; exhausted: boolean } {
  const candidates = [...input.intermediates, ...input.roots].filter((c, i, all) => all.findIndex((o) => sameBytes(o.der, c.der)) === i);
  const checked = new Map<string, boolean>();
  const deadEnds = new Set<ParsedCertificate>();
  let signatureChecks = 0;
  let steps = 0;
  let exhausted = false;
  const issuedOnce = (next: ParsedCertificate, current: ParsedCertificate): boolean => {
    const key = `${candidates.indexOf(next)}:${current === input.leaf ? 'leaf' : candidates.indexOf(current)}`;
    const known = checked.get(key);
    if (known !== undefined) return known;
    if (!mayHaveIssued(next, current)) return false;
    if (++signatureChecks > MAX_SIGNATURE_CHECKS) {
      exhausted = true;
      return false;
    }
    const verdict = issued(next, current);
    checked.set(key, verdict);
    return verdict;
  };
  let best: ParsedCertificate[] = [input.leaf];
  // A certificate is only a dead end when its search was not cut short by MAX_DEPTH: reached
  // again on a shorter path it may still lead to an anchor.
  let depthCutoffs = 0;
  const walk = (path: ParsedCertificate[]): ParsedCertificate[] | undefined => {
    if (exhausted || ++steps > MAX_STEPS) {
      exhausted = true;
      return undefined;
    }
    const current = path[path.length - 1];
    if (isAnchor(current, input.roots)) return path;
    if (path.length > best.length) best = path;
    if (path.length >= MAX_DEPTH) {
      depthCutoffs++;
      return undefined;
    }
    for (const next of candidates) {
      if (deadEnds.has(next) || path.includes(next) || !issuedOnce(next, current)) continue;
      const cutoffsBefore = depthCutoffs;
      const found = walk([...path, next]);
      if (found) return found;
      if (depthCutoffs === cutoffsBefore) deadEnds.add(next);
    }
    return undefined;
  };
  const anchored = walk([input.leaf]);
  return anchored ? { path: anchored, anchored: true, exhausted } : { path: best, anchored: false, exhausted };
}

function within(name: string, base: string): boolean {
  const b = base.toLowerCase().replace(/^\./, '');
  const n = name.toLowerCase();
  return n === b || n.endsWith(`.${b}`);
}

/** An IPv4 address inside an address/mask range as name constraints write it. */
function ipInRange(ip: string, range: string): boolean {
  const [addr, mask] = range.split('/');
  if (!mask || isIP(ip) !== 4 || isIP(addr) !== 4) return false;
  const toInt = (s: string) => s.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  const m = toInt(mask);
  return ((toInt(ip) & m) >>> 0) === ((toInt(addr) & m) >>> 0);
}

/** RFC 5280 name constraints of one CA applied to the leaf's DNS and IP names. */
function nameConstraintViolations(ca: ParsedCertificate, leaf: ParsedCertificate): string[] {
  const nc = ca.extensions.nameConstraints;
  if (!nc) return [];
  const out: string[] = [];
  const check = (kind: keyof GeneralNames, names: string[], inside: (name: string, base: string) => boolean) => {
    for (const name of names) {
      if (nc.excluded[kind].some((b) => inside(name, b))) out.push(`${name} is excluded by the name constraints of ${ca.subject}`);
      else if (nc.permitted[kind].length && !nc.permitted[kind].some((b) => inside(name, b))) out.push(`${name} is outside the names permitted by ${ca.subject}`);
    }
  };
  check('dns', leaf.extensions.san.dns, within);
  check('ip', leaf.extensions.san.ip, ipInRange);
  return out;
}

/**
 * Validates a chain as a TLS client would: builds a path from the leaf through the given
 * intermediates to a trust anchor, checking signatures, validity at `at`, basic constraints and
 * path lengths, key usage of CAs, extended key usage for the purpose, name constraints, unknown
 * critical extensions and the host name. Every problem is reported, not just the first.
 */
export function validateChain(input: ChainInput): ChainVerdict {
  const { path, anchored, exhausted } = buildPath(input);
  const reasons: string[] = [];
  if (exhausted && !anchored) reasons.push(`path building gave up: the chain offers more candidate paths than ${MAX_SIGNATURE_CHECKS} signature checks can try`);
  if (!anchored) {
    const top = path[path.length - 1];
    const selfSigned = sameBytes(top.subjectDer, top.issuerDer) && issued(top, top);
    reasons.push(selfSigned ? `untrusted root: ${top.subject} is self-signed and not a trusted root` : `incomplete chain: no issuer found for ${top.subject} (issuer ${top.issuer})`);
  }
  path.forEach((cert, i) => {
    const who = i === 0 ? `the leaf (${cert.subject})` : cert.subject;
    if (input.at < cert.notBefore) reasons.push(`${who} is not valid before ${cert.notBefore.toISOString()}`);
    if (input.at > cert.notAfter) reasons.push(`${who} expired on ${cert.notAfter.toISOString()}`);
    if (cert.extensions.unhandledCritical.length) reasons.push(`${who} has unknown critical extensions ${cert.extensions.unhandledCritical.join(', ')}`);
    if (i === 0) return;
    const bc = cert.extensions.basicConstraints;
    if (!bc?.ca) reasons.push(`${who} issues certificates but is not a CA (basicConstraints)`);
    const ku = cert.extensions.keyUsage;
    if (ku && !ku.includes('keyCertSign')) reasons.push(`${who} issues certificates but its key usage lacks keyCertSign`);
    // Intermediate CAs below this one, not counting self-issued ones (RFC 5280 6.1.4).
    const below = path.slice(1, i).filter((c) => !sameBytes(c.subjectDer, c.issuerDer)).length;
    if (bc?.pathLength !== undefined && below > bc.pathLength) reasons.push(`${who} allows ${bc.pathLength} intermediate CAs below it, the path has ${below}`);
    reasons.push(...nameConstraintViolations(cert, input.leaf));
  });
  if (input.purpose) {
    path.slice(0, anchored ? -1 : undefined).forEach((cert, i) => {
      const eku = cert.extensions.extendedKeyUsage;
      if (eku && !eku.includes(input.purpose!) && !eku.includes('anyExtendedKeyUsage')) {
        reasons.push(`${i === 0 ? `the leaf (${cert.subject})` : cert.subject} is not valid for ${input.purpose} (extended key usage: ${eku.join(', ')})`);
      }
    });
  }
  if (input.host && !matchesHost(input.leaf, input.host)) {
    const names = [...input.leaf.extensions.san.dns, ...input.leaf.extensions.san.ip];
    reasons.push(`hostname mismatch: ${input.host} is not among the leaf's names (${names.join(', ') || `CN ${input.leaf.subjectCommonNames.join(', ')}`})`);
  }
  return { valid: reasons.length === 0, reasons, path: path.map(link) };
}

