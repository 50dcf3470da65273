import { ConflictError, PolicyError, ValidationError } from './errors.ts';
import type { CertificateRequest, StoredCertificate } from './model.ts';
import type { RequestStore } from './ports.ts';
import { allowedValidityDays, checkSignature, type SignatureRequest, type SigningConfig } from './signing-policy.ts';
import { orderedByAcmeClient } from './acme-requester.ts';
import { ruleFor } from './policy.ts';
import { resolveOwnership } from './ownership.ts';
import { KEY_ALGORITHMS, type KeyAlgorithm } from './x509/keys.ts';

const DAY_MS = 86_400_000;

/**
 * What a renewal asks to have signed: the old certificate's names, profile, environment and owner,
 * its key type while policy still allows it (else the first the rule allows), its lifetime within
 * what policy allows now, and the approval of the lineage's first request for names outside policy.
 */
export function renewalSignature(old: StoredCertificate, deps: SigningConfig, approvedRequestId = old.requestId): SignatureRequest & { keyAlgorithm: KeyAlgorithm } {
  // Stored names are as the certificate spelled them: judged and signed in lower case (a name that is no name stays as it is, and the gate refuses it).
  // A certificate of the days before SANs names its host in the CN alone: its successor names it in both.
  const named = old.subjectAlternativeNames.length ? old.subjectAlternativeNames : old.commonName ? [old.commonName] : [];
  if (named.length === 0) throw new ConflictError(`certificate ${old.id} names no host (no subjectAltName, no CN): there is nothing to renew it for`, 'id');
  const names = [...new Set(named.map((n) => n.toLowerCase()))];
  const profile = old.profile ?? 'tls-server';
  const lifetimeDays = Math.max(1, Math.round((Date.parse(old.notAfter) - Date.parse(old.notBefore)) / DAY_MS));
  const { environment } = resolveOwnership(deps.ownership, names, old, deps.policy.defaultEnvironment);
  const allowed = ruleFor(deps.policy, environment, profile)?.keyTypes ?? [];
  const current = (KEY_ALGORITHMS as readonly string[]).includes(old.keyAlgorithm) ? (old.keyAlgorithm as KeyAlgorithm) : 'EC_P256';
  const keyAlgorithm = (allowed.includes(current) ? current : (allowed.find((k) => (KEY_ALGORITHMS as readonly string[]).includes(k)) ?? current)) as KeyAlgorithm;
  return {
    // The common name is one of the names (a certificate whose CN is no DNS name gets its first SAN).
    commonName: names.includes(String(old.commonName).toLowerCase()) ? String(old.commonName).toLowerCase() : names[0], names, profile, keyAlgorithm, environment, owner: old.owner, approvedRequestId,
    validityDays: allowedValidityDays(deps, { names, environment, owner: old.owner, profile }, lifetimeDays),
  };
}

/** The renewal's own approval, if one was asked for and an approver said yes; else the lineage's first request. */
export async function approvalOf(cert: StoredCertificate, deps: { requests: Pick<RequestStore, 'get'> }): Promise<{ request?: CertificateRequest; approvedRequestId?: string }> {
  const request = cert.renewalRequestId ? await deps.requests.get(cert.renewalRequestId) : undefined;
  return { request, approvedRequestId: request?.status === 'approved' ? request.requestId : cert.requestId };
}

/** What the signing gate says of a certificate's renewal under the policy in force. */
export type RenewalVerdict = 'allowed' | 'needs-approval' | 'policy-refuses';

/**
 * The signing gate's word on the certificate's renewal now: the same signature request and gate
 * as the renewal's first step (services/renewal/saga-steps.ts lock), with the renewal's own
 * approval or the lineage's. An ACME client's renewal is a new order, which reuses no approval.
 * Names no host, or an environment the ownership rules contradict: refused, as that step refuses it.
 */
export async function judgeRenewal(cert: StoredCertificate, deps: SigningConfig & { requests: Pick<RequestStore, 'get'> }): Promise<RenewalVerdict> {
  try {
    const signature = orderedByAcmeClient(cert) ? { ...renewalSignature(cert, deps), approvedRequestId: undefined } : renewalSignature(cert, deps, (await approvalOf(cert, deps)).approvedRequestId);
    await checkSignature(deps, signature, deps.requests);
    return 'allowed';
  } catch (err) {
    if (err instanceof PolicyError) return err.needsApproval ? 'needs-approval' : 'policy-refuses';
    if (err instanceof ValidationError || err instanceof ConflictError) return 'policy-refuses';
    throw err;
  }
}
