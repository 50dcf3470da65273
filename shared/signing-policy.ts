import { PolicyError } from './errors.ts';
import { normaliseName } from './names.ts';
import { resolveOwnership, type OwnershipRule } from './ownership.ts';
import { evaluatePolicy, ruleFor, type Policy, type Verdict } from './policy.ts';
import type { CertificateRequest } from './model.ts';

/** What is to be signed, as the policy gate judges it. */
export interface SignatureRequest {
  commonName: string;
  /** Every subjectAltName (DNS names and IP addresses); the common name is judged with them. */
  names: string[];
  /** certops' name for the key (EC_P256, RSA_3072 ...), read from the key itself. */
  keyAlgorithm: string;
  validityDays: number;
  profile: 'tls-server' | 'tls-client';
  environment?: string;
  owner?: string;
  /**
   * The request an approver said yes to: it covers names outside the allowed domains (never a
   * hard limit), if the approver was not the requester and it named these names.
   */
  approvedRequestId?: string;
}

/** The configuration the gate reads, as it is now. */
export interface SigningConfig {
  policy: Policy;
  ownership: OwnershipRule[];
}

export interface Judgement {
  verdict: Verdict;
  environment?: string;
  owner?: string;
}

/**
 * The verdict on a request: its environment and owner resolved first (what it names, the
 * ownership rules, the default; see resolveOwnership), then the policy rule they select decides.
 * Throws ValidationError when the environment it names contradicts the ownership rules.
 */
export function judge(config: SigningConfig, request: Omit<SignatureRequest, 'approvedRequestId'>): Judgement {
  const given = [...new Set([request.commonName, ...request.names])];
  // Names from a stored or discovered certificate are judged as a request's would be: lower case,
  // and only what certops signs (a partial wildcard such as ad*.example.com is not a name).
  const unsignable = given.filter((n) => !signable(n));
  if (unsignable.length) return { verdict: { decision: 'deny', reasons: unsignable.map((n) => `${JSON.stringify(n.slice(0, 80))} is not a DNS name or IP address certops signs`) } };
  const names = [...new Set(given.map((n) => normaliseName(n, 'names')))];
  const { environment, owner } = resolveOwnership(config.ownership, names, request, config.policy.defaultEnvironment);
  const verdict = evaluatePolicy(config.policy, { names, keyAlgorithm: request.keyAlgorithm, validityDays: request.validityDays, profile: request.profile, environment, owner });
  return { verdict, environment, owner };
}

function signable(name: string): boolean {
  try {
    normaliseName(name, 'names');
    return true;
  } catch {
    return false;
  }
}

/** The longest validity policy allows for this environment and profile, and at most `wanted` (renewals keep their lifetime within it). */
export function allowedValidityDays(config: SigningConfig, request: { names: string[]; environment?: string; owner?: string; profile: SignatureRequest['profile'] }, wanted: number): number {
  const { environment } = resolveOwnership(config.ownership, request.names, request, config.policy.defaultEnvironment);
  return Math.min(wanted, ruleFor(config.policy, environment, request.profile)?.maxValidityDays ?? wanted);
}

/** Whether a decided request covers these names: an approver other than the requester said yes to them. */
function covers(request: CertificateRequest | undefined, names: string[]): boolean {
  if (!request || !request.decidedBy || request.decidedBy === 'policy' || [request.requestedBy, request.askedBy, request.orderedFor].includes(request.decidedBy)) return false;
  if (!['approved', 'issued', 'pending_validation'].includes(request.status)) return false;
  const approved = new Set([request.commonName, ...request.subjectAlternativeNames]);
  return names.every((n) => approved.has(n));
}

/**
 * The one door to a signature. Every issuance, approval, renewal and adoption passes here with
 * the configuration as it is at that moment: hard limits refuse, names outside the allowed ones
 * need an approval of these very names. Throws PolicyError with the reasons; returns the
 * environment and owner the request was judged under.
 */
export async function checkSignature(config: SigningConfig, request: SignatureRequest, approvals: { get(requestId: string): Promise<CertificateRequest | undefined> }): Promise<Judgement> {
  const judgement = judge(config, request);
  const { verdict } = judgement;
  if (verdict.decision === 'deny') throw new PolicyError(verdict.reasons);
  if (verdict.decision === 'needs_approval') {
    const approval = request.approvedRequestId ? await approvals.get(request.approvedRequestId) : undefined;
    if (!covers(approval, [...new Set([request.commonName, ...request.names])])) throw new PolicyError([...verdict.reasons, 'no approval covers these names'], true);
  }
  return judgement;
}
