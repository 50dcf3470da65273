import { sameBytes } from './der.ts';
import { matchesHost } from './host-name.ts';
import type { ParsedCertificate } from './parse-certificate.ts';
import { signatureVerifies } from './signature.ts';
import { fingerprintSha256 } from './certificate-record.ts';
import { profileProblems, type PathRole } from './certificate-profile.ts';
import { ConstraintBudget, constraintSyntaxProblems, nameConstraintViolations } from './name-constraints.ts';

export type Purpose = 'serverAuth' | 'clientAuth';

export interface ChainInput {
  leaf: ParsedCertificate;
  /** Candidates for the path, in any order; the ones not needed are ignored. */
  intermediates: ParsedCertificate[];
  roots: ParsedCertificate[];
  at: Date;
  host?: string;
  purpose?: Purpose;
  /** At most this many intermediate certificates between the leaf and the anchor. */
  maxIntermediates?: number;
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

/**
 * How much work one path search may do, as Go and webpki bound theirs: a served chain can offer
 * many certificates that all issue each other, and every order of them is a path to try.
 */
const MAX_SIGNATURE_CHECKS = 100;
const MAX_STEPS = 1000;

/** One validation's path search: every (issuer, child) signature checked once, within the budgets. */
class PathSearch {
  private readonly candidates: ParsedCertificate[];
  private readonly checked = new Map<string, boolean>();
  private readonly deadEnds = new Set<ParsedCertificate>();
  private signatureChecks = 0;
  private steps = 0;
  private depthCutoffs = 0;
  /** Candidates passed over as loops: a search cut short by them says nothing of other paths. */
  private loopSkips = 0;
  private anchored?: Set<ParsedCertificate>;
  exhausted = false;
  /** The longest path tried, for the report when no anchor is reached. */
  best: ParsedCertificate[];

  constructor(private readonly input: ChainInput) {
    // The trust store's certificates first: a served copy of an anchor (an expired cross-sign)
    // is only tried after the anchor itself.
    this.candidates = [...input.roots, ...input.intermediates].filter((c, i, all) => all.findIndex((o) => sameBytes(o.der, c.der)) === i);
    this.best = [input.leaf];
  }

  private issuedOnce(next: ParsedCertificate, current: ParsedCertificate): boolean {
    const key = `${this.candidates.indexOf(next)}:${current === this.input.leaf ? 'leaf' : this.candidates.indexOf(current)}`;
    const known = this.checked.get(key);
    if (known !== undefined) return known;
    if (!mayHaveIssued(next, current)) return false;
    if (++this.signatureChecks > MAX_SIGNATURE_CHECKS) {
      this.exhausted = true;
      return false;
    }
    const verdict = issued(next, current);
    this.checked.set(key, verdict);
    return verdict;
  }

  /**
   * Depth-first, every path from the leaf to a trust anchor, ending with the trust store's copy of
   * it. A certificate from which no anchor was reached is not tried again (unless MAX_DEPTH cut its
   * search short), and the search stops (`exhausted`) past its budget.
   */
  /**
   * The candidates from which an anchor can be reached at all, whatever the path to them: the
   * anchors, and by fixpoint whatever one of those issued. Any other is a dead end on every path
   * (a mesh that issues only itself is given up at once), though still walked for the report.
   */
  private reachable(): Set<ParsedCertificate> {
    if (this.anchored) return this.anchored;
    const good = new Set(this.candidates.filter((c) => this.input.roots.some((r) => sameBytes(r.subjectDer, c.subjectDer) && sameBytes(r.spkiDer, c.spkiDer))));
    for (let grew = true; grew && !this.exhausted;) {
      grew = false;
      for (const c of this.candidates) {
        if (good.has(c) || ![...good].some((g) => this.issuedOnce(g, c))) continue;
        good.add(c);
        grew = true;
      }
    }
    return (this.anchored = good);
  }

  *paths(path: ParsedCertificate[] = [this.input.leaf]): Generator<ParsedCertificate[]> {
    if (this.exhausted || ++this.steps > MAX_STEPS) {
      this.exhausted = true;
      return;
    }
    const current = path[path.length - 1];
    // Every copy of the anchor in the trust store (an expired one beside its renewal, say): each ends a path of its own.
    const anchors = this.input.roots.filter((r) => sameBytes(r.subjectDer, current.subjectDer) && sameBytes(r.spkiDer, current.spkiDer));
    if (anchors.length) {
      for (const anchor of anchors) yield [...path.slice(0, -1), anchor];
      return;
    }
    if (path.length > this.best.length) this.best = path;
    if (path.length >= MAX_DEPTH) {
      this.depthCutoffs++;
      return;
    }
    for (const next of this.candidates) {
      if (this.deadEnds.has(next)) continue;
      // A (name, key) pair already on the path is a loop, whichever certificate carries it (RFC 4158 5.2): cross-certificates between the same CAs add no new path.
      if (path.some((on) => sameBytes(on.subjectDer, next.subjectDer) && sameBytes(on.spkiDer, next.spkiDer))) {
        this.loopSkips++;
        continue;
      }
      if (!this.issuedOnce(next, current)) continue;
      const [cutoffsBefore, loopsBefore] = [this.depthCutoffs, this.loopSkips];
      let found = false;
      for (const complete of this.paths([...path, next])) {
        found = true;
        yield complete;
      }
      // A dead end is one for every path if no anchor is reachable from it at all, or if neither the
      // depth limit nor this path's loops cut its search short.
      if (!found && (!this.reachable().has(next) || (this.depthCutoffs === cutoffsBefore && this.loopSkips === loopsBefore))) this.deadEnds.add(next);
    }
  }
}

/** RFC 5280 compares validity at the granularity of seconds: `at` within the second notAfter names is still valid. */
const second = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;

/**
 * What one validation shares between the paths it tries, so that many paths through the same
 * certificates cost little more than one: the name constraint comparisons' budget, and each
 * certificate's profile problems at each place (they depend on nothing else).
 */
class SharedWork {
  readonly budget = new ConstraintBudget();
  private readonly profiles = new Map<ParsedCertificate, Map<PathRole, string[]>>();
  constructor(private readonly serverAuth: boolean) {}

  profileOf(cert: ParsedCertificate, role: PathRole): string[] {
    let byRole = this.profiles.get(cert);
    if (!byRole) this.profiles.set(cert, (byRole = new Map()));
    let found = byRole.get(role);
    if (!found) byRole.set(role, (found = profileProblems(cert, role, this.serverAuth)));
    return found;
  }
}

/** Every problem of one path (leaf first, anchor last when `anchored`). */
function pathProblems(path: ParsedCertificate[], anchored: boolean, input: ChainInput, shared: SharedWork): string[] {
  const reasons: string[] = [];
  const at = second(input.at);
  path.forEach((cert, i) => {
    const role: PathRole = i === 0 ? 'leaf' : anchored && i === path.length - 1 ? 'anchor' : 'intermediate';
    const who = i === 0 ? `the leaf (${cert.subject})` : cert.subject;
    if (at < cert.notBefore.getTime()) reasons.push(`${who} is not valid before ${cert.notBefore.toISOString()}`);
    if (at > cert.notAfter.getTime()) reasons.push(`${who} expired on ${cert.notAfter.toISOString()}`);
    if (cert.extensions.unhandledCritical.length) reasons.push(`${who} has unknown critical extensions ${cert.extensions.unhandledCritical.join(', ')}`);
    reasons.push(...shared.profileOf(cert, role));
    if (i === 0) return;
    const bc = cert.extensions.basicConstraints;
    // A version 1 root has no extensions to say so: as a trust anchor it is taken as given (RFC 5280 6.1.1 (d)).
    if (!bc?.ca && !(role === 'anchor' && cert.version === 1)) reasons.push(`${who} issues certificates but is not a CA (basicConstraints)`);
    const ku = cert.extensions.keyUsage;
    if (ku && !ku.includes('keyCertSign')) reasons.push(`${who} issues certificates but its key usage lacks keyCertSign`);
    // Intermediate CAs below this one, not counting self-issued ones (RFC 5280 6.1.4).
    const below = path.slice(1, i).filter((c) => !sameBytes(c.subjectDer, c.issuerDer)).length;
    if (bc?.pathLength !== undefined && below > bc.pathLength) reasons.push(`${who} allows ${bc.pathLength} intermediate CAs below it, the path has ${below}`);
    reasons.push(...constraintSyntaxProblems(cert));
    // requireExplicitPolicy k: after k more certificates (not counting self-issued CAs; the leaf counts), the path must hold an
    // acceptable policy (RFC 5280 6.1.4 (h), (i), 6.1.5 (a), (g)). certops does no policy processing, so a path where that
    // comes into force cannot be shown to meet it. A trust anchor's own constraints are not processed (RFC 5280 6.1.1).
    const require = cert.extensions.requireExplicitPolicy;
    if (role === 'intermediate' && require !== undefined && require <= 1 + below) reasons.push(`${who} requires an explicit certificate policy within ${require} certificates below it (RFC 5280 4.2.1.11), and certops does no policy processing to confirm one`);
    // Name constraints bind every certificate below, except self-issued CAs other than the leaf (RFC 5280 6.1.3 (b)).
    path.slice(0, i).forEach((below, j) => {
      if (j > 0 && sameBytes(below.subjectDer, below.issuerDer)) return;
      reasons.push(...nameConstraintViolations(cert, below, shared.budget));
    });
  });
  // Self-issued CAs (key rollover) do not count, as they do not for path lengths (RFC 5280 6.1.4).
  const intermediates = path.slice(1, anchored ? -1 : undefined).filter((c) => !sameBytes(c.subjectDer, c.issuerDer)).length;
  if (input.maxIntermediates !== undefined && intermediates > input.maxIntermediates) reasons.push(`the path has ${intermediates} intermediate certificates, more than the ${input.maxIntermediates} allowed`);
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
    reasons.push(`hostname mismatch: ${input.host} is not among the leaf's subjectAltNames (${names.join(', ') || 'it has none; the CN is not a host name'})`);
  }
  return [...new Set(reasons)];
}

/** A verdict with the certificates of its path (leaf first), and whether the path ends at a trust anchor. */
export interface ValidatedPath {
  verdict: ChainVerdict;
  certificates: ParsedCertificate[];
  anchored: boolean;
}

/**
 * Validates a chain as a TLS client would (RFC 5280 6.1, with the CA/Browser Forum's profile for
 * serverAuth): builds paths from the leaf through the given intermediates to a trust anchor and
 * takes the first that passes every check (signatures, validity at `at`, the profile of each
 * certificate at its place, basic constraints and path lengths, key usage of CAs, extended key
 * usage for the purpose, name constraints, unknown critical extensions, the host name against the
 * subjectAltNames). When none passes, every problem of the first path found is reported.
 */
export function validateChain(input: ChainInput): ChainVerdict {
  return validatePath(input).verdict;
}

/** validateChain, with the path's certificates for what checks them further (revocation). Each certificate in it is signed by the next. */
export function validatePath(input: ChainInput): ValidatedPath {
  const search = new PathSearch(input);
  const shared = new SharedWork(input.purpose === 'serverAuth');
  let first: { path: ParsedCertificate[]; reasons: string[] } | undefined;
  for (const path of search.paths()) {
    const reasons = pathProblems(path, true, input, shared);
    if (reasons.length === 0) return { verdict: { valid: true, reasons, path: path.map(link) }, certificates: path, anchored: true };
    first ??= { path, reasons };
  }
  if (first) return { verdict: { valid: false, reasons: first.reasons, path: first.path.map(link) }, certificates: first.path, anchored: true };
  const path = search.best;
  const reasons: string[] = [];
  if (search.exhausted) reasons.push(`path building gave up: the chain offers more candidate paths than ${MAX_SIGNATURE_CHECKS} signature checks can try`);
  const top = path[path.length - 1];
  const selfSigned = sameBytes(top.subjectDer, top.issuerDer) && issued(top, top);
  reasons.push(selfSigned ? `untrusted root: ${top.subject} is self-signed and not a trusted root` : `incomplete chain: no issuer found for ${top.subject} (issuer ${top.issuer})`);
  reasons.push(...pathProblems(path, false, input, shared));
  return { verdict: { valid: false, reasons, path: path.map(link) }, certificates: path, anchored: false };
}
