import type { StoredCertificate } from '../../shared/model.ts';
import type { RequestStore } from '../../shared/ports.ts';
import { judgeRenewal, type RenewalVerdict } from '../../shared/renewal-signature.ts';
import { orderedByAcmeClient } from '../../shared/acme-requester.ts';
import type { SigningConfig } from '../../shared/signing-policy.ts';

/** The lifetime CA/Browser Forum ballot SC-081 sets for public TLS certificates from 2029-03-15, in days. */
export const SHORT_LIFETIME_DAYS = 47;

/** Why a certificate in use could not be renewed without a person at 47-day lifetimes. */
export type ReadinessReason = 'not-managed' | 'issuer-without-acme' | 'needs-approval' | 'policy-refuses' | 'no-deployment-target';

/** What the signing gate would make of a managed certificate's renewal now, when it is not a yes. */
export type RenewalJudgement = Exclude<RenewalVerdict, 'allowed'>;

const EXPLAINED: Record<ReadinessReason, string> = {
  'not-managed': 'certops does not renew it (found by a scan, an import or ACM): renewed wherever it was issued, by hand unless that place automates it; adopt it to let certops renew it',
  'issuer-without-acme': 'its issuer is not a CA known to offer ACME (RFC 8555): no standard client can renew it; move it to an ACME CA, or to certops (adopt it, or point its client at certops\' ACME server)',
  'needs-approval': 'its renewal would wait for an approver under the policy in force (no approval covers its names), or waits for one now',
  'policy-refuses': 'the policy in force would refuse its renewal (its names, key type or lifetime): change the policy, or replace the certificate',
  'no-deployment-target': 'certops renews it but deploys the successor nowhere: whoever uses it must fetch each one',
};

/** One certificate that would need a person: who owns it, who issued it, and why. */
export interface NotReady {
  id: string;
  commonName: string;
  owner: string;
  environment: string;
  issuer: string;
  issuerBackend: string;
  notAfter: string;
  reasons: ReadinessReason[];
}

/**
 * Public CAs that offer ACME, by the organization (O=) in their issuing certificates' names: Let's
 * Encrypt, ZeroSSL, Google Trust Services, Buypass, SSL.com, Sectigo, DigiCert, GlobalSign,
 * Entrust, Actalis and HARICA document ACME endpoints.
 */
const ACME_CA_ORGANIZATIONS = /\bO=(Let's Encrypt|ZeroSSL|Google Trust Services( LLC)?|Buypass AS[^,]*|SSL Corporation|Sectigo Limited|DigiCert,? Inc\.?|GlobalSign( nv-sa)?|Entrust,? Inc\.?|Actalis S\.p\.A\.[^,]*|Hellenic Academic and Research Institutions CA)(,|$)/i;

const reasonsFor = (c: StoredCertificate, judged: ReadonlyMap<string, RenewalJudgement>): ReadinessReason[] => {
  if (!c.issuerBackend) return ['not-managed', ...(ACME_CA_ORGANIZATIONS.test(c.issuer) ? [] : ['issuer-without-acme' as const])];
  const judgement = judged.get(c.id);
  // An ACME client installs what it renews: it needs no target.
  return [...(judgement ? [judgement] : []), ...(c.targets.length === 0 && !orderedByAcmeClient(c) ? ['no-deployment-target' as const] : [])];
};

/** End-entity certificates in use (active or discovered): CA certificates are renewed by a CA ceremony, not by a lifetime rule for TLS certificates. */
const inUse = (certs: StoredCertificate[]) => certs.filter((c) => (c.status === 'active' || c.status === 'discovered') && !c.basicConstraints?.ca);

/**
 * For each certificate in use with an issuer in certops (an ACME client's too: its renewal is an
 * order through the same gate), what the signing gate would say of its renewal now, when not a
 * yes (see judgeRenewal): a renewal request waiting for an approver counts only if the policy in
 * force still wants one.
 */
export async function renewalJudgements(certs: StoredCertificate[], deps: SigningConfig & { requests: Pick<RequestStore, 'get'> }): Promise<Map<string, RenewalJudgement>> {
  const judged = new Map<string, RenewalJudgement>();
  await Promise.all(inUse(certs).filter((c) => c.issuerBackend).map(async (c) => {
    const verdict = await judgeRenewal(c, deps);
    if (verdict !== 'allowed') judged.set(c.id, verdict);
  }));
  return judged;
}

/**
 * Which end-entity certificates in use (active or discovered) could be renewed with no one's hand at 47-day
 * lifetimes (SC-081), and which could not and why, counted by reason, owner and issuer. A
 * certificate is ready when certops issues and renews it, its renewal passes the policy in force
 * with no approver (`judged`: see renewalJudgements), and it has a target to be deployed to.
 */
export function readinessReport(certs: StoredCertificate[], now: Date, judged: ReadonlyMap<string, RenewalJudgement> = new Map()) {
  const live = inUse(certs);
  const notReady: NotReady[] = live.flatMap((c) => {
    const reasons = reasonsFor(c, judged);
    return reasons.length ? [{ id: c.id, commonName: c.commonName ?? c.subjectAlternativeNames[0] ?? '', owner: c.owner ?? '', environment: c.environment ?? '', issuer: c.issuer, issuerBackend: c.issuerBackend ?? '', notAfter: c.notAfter, reasons }] : [];
  });
  const waiting = new Set(notReady.map((n) => n.id));
  const tally = (key: (c: StoredCertificate) => string) => {
    // A Map, not an object: an owner named __proto__ must be a row, not the object's prototype.
    const out = new Map<string, { ready: number; notReady: number }>();
    for (const c of live) {
      const k = key(c) || '(none)';
      const row = out.get(k) ?? { ready: 0, notReady: 0 };
      out.set(k, row);
      if (waiting.has(c.id)) row.notReady++;
      else row.ready++;
    }
    return Object.fromEntries(out);
  };
  const byReason = Object.fromEntries((Object.keys(EXPLAINED) as ReadinessReason[]).map((r) => [r, { count: notReady.filter((n) => n.reasons.includes(r)).length, meaning: EXPLAINED[r] }]));
  return {
    generatedAt: now.toISOString(),
    lifetimeDays: SHORT_LIFETIME_DAYS,
    inUse: live.length,
    ready: live.length - notReady.length,
    notReady: notReady.length,
    byReason,
    byOwner: tally((c) => c.owner ?? ''),
    byIssuer: tally((c) => c.issuer),
    certificates: notReady,
  };
}

/** The not-ready certificates as CSV rows (reasons separated by spaces). */
export const readinessRows = (report: ReturnType<typeof readinessReport>) => report.certificates.map((c) => ({ ...c, reasons: c.reasons.join(' ') }));
export const READINESS_COLUMNS = ['id', 'commonName', 'owner', 'environment', 'issuer', 'issuerBackend', 'notAfter', 'reasons'] as const;
