import type { CertificateAuthority, IssueResult, SignInput } from './ports.ts';
import { checkSignature, type SigningConfig } from './signing-policy.ts';
import type { CertificateRequest } from './model.ts';
import { publicKeyAlgorithm } from './x509/public-key.ts';

/**
 * A CA behind the policy gate: issue() signs only what checkSignature lets through under the
 * configuration of that moment, judging the key by the key itself. The runtime hands out CAs only
 * in this form, so no path to a signature goes around policy.
 */
export function policyGated(ca: CertificateAuthority, config: () => SigningConfig, approvals: { get(requestId: string): Promise<CertificateRequest | undefined> }): CertificateAuthority {
  return {
    name: ca.name,
    async issue(input: SignInput): Promise<IssueResult> {
      await checkSignature(config(), {
        commonName: input.commonName, names: input.subjectAlternativeNames, keyAlgorithm: publicKeyAlgorithm(input.spkiDer), validityDays: input.validityDays,
        profile: input.profile, environment: input.environment, owner: input.owner, approvedRequestId: input.approvedRequestId,
      }, approvals);
      return ca.issue(input);
    },
    ...(ca.complete ? { complete: (reference: string) => ca.complete!(reference) } : {}),
    ...(ca.signedFor ? { signedFor: (key: string) => ca.signedFor!(key) } : {}),
    chainPem: () => ca.chainPem(),
    revoke: (serial, reason, at) => ca.revoke(serial, reason, at),
    ...(ca.crlDer ? { crlDer: () => ca.crlDer!() } : {}),
    ...(ca.suggestedWindow ? { suggestedWindow: (pem: string) => ca.suggestedWindow!(pem) } : {}),
  };
}
