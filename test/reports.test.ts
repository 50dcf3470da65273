import { describe, expect, it } from 'vitest';
import { expiryReport, inventoryReport, toCsv, INVENTORY_COLUMNS } from '../services/inventory/reports.ts';
import { READINESS_COLUMNS, readinessReport, readinessRows, renewalJudgements } from '../services/inventory/readiness-report.ts';
import { parsePolicy } from '../shared/policy.ts';
import { parseOwnershipRules } from '../shared/ownership.ts';
import type { CertificateRequest } from '../shared/model.ts';
import type { StoredCertificate } from '../shared/model.ts';

const DAY = 86_400_000;
const now = new Date('2027-03-10T12:00:00Z');

/** A certificate `daysLeft` days from its end, issued a year ago (a life under 90 days would scale its expiry bands down). */
function cert(i: number, daysLeft: number, extra: Partial<StoredCertificate> = {}): StoredCertificate {
  return {
    id: `c${i}`, version: 3, commonName: `h${i}.example.com`, subjectAlternativeNames: [`h${i}.example.com`], emailAddresses: [], uris: [],
    subject: `CN=h${i}.example.com`, issuer: i % 2 ? 'CN=CA One' : 'CN=CA Two', serialNumber: '01',
    notBefore: new Date(now.getTime() - 365 * DAY).toISOString(), notAfter: new Date(now.getTime() + daysLeft * DAY).toISOString(),
    fingerprintSha256: 'AA', fingerprintSha1: 'AA', spkiSha256: 'aa', keyAlgorithm: 'EC_P256', keyType: 'EC', curve: 'P256', signatureAlgorithm: 'ecdsa-with-SHA256',
    crlUrls: [], ocspUrls: [], caIssuersUrls: [], sctCount: 0, selfSigned: false, certificatePem: '', chainPem: '',
    status: 'active', source: 'issued', targets: [], environment: i % 3 ? 'prod' : 'dev', createdAt: now.toISOString(), ...extra,
  };
}

describe('reports', () => {
  const certs = [cert(1, -3), cert(2, 1), cert(3, 6.5), cert(4, 8), cert(5, 90), cert(6, 95), cert(7, 200), cert(8, 5, { status: 'superseded' }), cert(9, 500)];

  it('buckets live certificates by week for 13 weeks, then by month, with the expired apart', () => {
    const r = expiryReport(certs, now);
    expect(r.expired.count).toBe(1);
    expect(r.weeks).toHaveLength(13);
    expect(r.weeks[0]).toMatchObject({ week: 1, count: 2, from: now.toISOString() });
    expect(r.weeks[0].certificates.map((c) => c.id)).toEqual(['c2', 'c3']);
    expect(r.weeks[1].count).toBe(1);
    expect(r.weeks[12].count).toBe(1);
    expect(r.weeks.reduce((n, w) => n + w.count, 0)).toBe(4);
    expect(r.months).toHaveLength(12);
    expect(r.months[0].from).toBe(r.weeks[12].to);
    expect(r.months.reduce((n, m) => n + m.count, 0)).toBe(2);
    expect(r.months.map((m) => m.month)).toContain('2027-06');
  });

  it('summarises by status, issuing CA, environment and open findings by severity', () => {
    const r = inventoryReport(certs, now);
    expect(r.total).toBe(9);
    expect(r.byStatus).toEqual({ active: 8, superseded: 1 });
    expect(r.byIssuer).toEqual({ 'CN=CA One': 5, 'CN=CA Two': 3 });
    expect(r.byEnvironment).toEqual({ prod: 5, dev: 3 });
    // Each breakdown adds up to its total.
    expect(Object.values(r.byStatus).reduce((a, b) => a + b, 0)).toBe(r.total);
    for (const by of [r.byIssuer, r.byEnvironment]) expect(Object.values(by).reduce((a, b) => a + b, 0)).toBe(r.liveTotal);
    expect(r.openFindingsBySeverity).toMatchObject({ critical: 3, high: 1 });
    expect(r.certificates.find((c) => c.id === 'c1')).toMatchObject({ daysToExpiry: -3, findings: 'expired', worstSeverity: 'critical' });
  });

  it('lists what expired in the expired section after the sweep marked it so, but not what was replaced (ops case 24)', () => {
    const swept = [cert(1, -3, { status: 'expired' }), cert(2, -1), cert(3, -2, { status: 'superseded' }), cert(4, -2, { status: 'revoked' }), cert(5, 10)];
    const r = expiryReport(swept, now);
    expect(r.expired.certificates.map((c) => c.id).sort()).toEqual(['c1', 'c2']);
    expect(r.expired.count).toBe(2);
  });

  it('breaks down by owners and issuers named like Object\'s own properties as by any other name, and touches no prototype (found by the route fuzzer)', () => {
    const odd = [cert(1, 10, { owner: '__proto__', issuer: '__proto__' }), cert(2, 10, { owner: 'constructor', issuer: 'toString' }), cert(3, 10, { owner: '__proto__' })];
    const summary = inventoryReport(odd, now);
    expect(Object.entries(summary.byOwner).sort()).toEqual([['__proto__', 2], ['constructor', 1]]);
    expect(Object.values(summary.byIssuer).reduce((a, b) => a + b, 0)).toBe(summary.liveTotal);
    const readiness = readinessReport(odd, now);
    expect(Object.keys(readiness.byOwner).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.values(readiness.byOwner).reduce((n, r) => n + r.ready + r.notReady, 0)).toBe(readiness.inUse);
    const inherited: string[] = [];
    for (const k in {}) inherited.push(k);
    expect(inherited).toEqual([]);
  });

  it('writes RFC 4180 CSV, quoting what needs it and defusing formulas', () => {
    const csv = toCsv([{ a: 'plain', b: 'with, comma', c: 'say "hi"', d: '=cmd()' }], ['a', 'b', 'c', 'd']);
    expect(csv).toBe('a,b,c,d\r\nplain,"with, comma","say ""hi""",\'=cmd()\r\n');
    const lines = toCsv(inventoryReport(certs, now).certificates, INVENTORY_COLUMNS).trim().split('\r\n');
    expect(lines[0]).toBe(INVENTORY_COLUMNS.join(','));
    expect(lines).toHaveLength(10);
  });

  it('says which certificates in use would need a person at 47-day lifetimes (SC-081), and why, by owner and issuer', () => {
    const certs = [
      cert(1, 30, { issuerBackend: 'local', targets: ['web'], owner: 'team-a' }),
      cert(2, 30, { issuerBackend: 'local', targets: [], owner: 'team-a' }),
      cert(3, 30, { source: 'scan', status: 'discovered', owner: 'team-b' }),
      cert(4, 30, { issuerBackend: 'pca', targets: ['lb'], renewalRequestId: 'r-4', owner: 'team-b' }),
      cert(5, 30, { issuerBackend: 'local', targets: ['web'], status: 'superseded' }),
      cert(6, 30, { source: 'import', status: 'revoked' }),
      // A CA certificate in use is not a TLS certificate that a 47-day lifetime applies to.
      cert(7, 3000, { source: 'import', status: 'discovered', basicConstraints: { ca: true } }),
      // Found by a scan too, but from a CA any ACME client can renew with.
      cert(8, 30, { source: 'scan', status: 'discovered', owner: 'team-b', issuer: 'C=US, O=Let\'s Encrypt, CN=R11' }),
    ];
    const report = readinessReport(certs, now, new Map([['c4', 'needs-approval']]));
    expect(report).toMatchObject({ lifetimeDays: 47, inUse: 5, ready: 1, notReady: 4 });
    expect(report.certificates.map((c) => [c.id, c.reasons])).toEqual([['c2', ['no-deployment-target']], ['c3', ['not-managed', 'issuer-without-acme']], ['c4', ['needs-approval']], ['c8', ['not-managed']]]);
    expect(report.byReason['not-managed'].count).toBe(2);
    expect(report.byReason['issuer-without-acme'].count).toBe(1);
    expect(report.byReason['not-managed'].meaning).toMatch(/adopt it/);
    expect(report.byOwner).toEqual({ 'team-a': { ready: 1, notReady: 1 }, 'team-b': { ready: 0, notReady: 3 } });
    expect(report.byIssuer).toEqual({ 'CN=CA One': { ready: 1, notReady: 1 }, 'CN=CA Two': { ready: 0, notReady: 2 }, 'C=US, O=Let\'s Encrypt, CN=R11': { ready: 0, notReady: 1 } });
    expect(toCsv(readinessRows(report), [...READINESS_COLUMNS]).split('\r\n')[1]).toMatch(/^c2,h2\.example\.com,team-a,/);
  });

  it('judges each managed certificate\'s renewal as the renewal\'s first step would, under the policy in force: an approver needed, a refusal, or a yes', async () => {
    const policy = parsePolicy({
      rules: [
        { environment: 'lab', allowedDomains: ['lab.example.com'], approval: 'never' },
        { allowedDomains: ['example.com'], deniedNames: ['admin.example.com'] },
      ],
    }, (f) => f);
    const ownership = parseOwnershipRules([{ domain: 'lab.example.com', environment: 'lab' }]);
    const named = (i: number, name: string, extra: Partial<StoredCertificate> = {}) => cert(i, 30, { commonName: name, subjectAlternativeNames: [name], issuerBackend: 'local', targets: ['web'], environment: undefined, ...extra });
    const request = (requestId: string, status: CertificateRequest['status'], names: string[], decidedBy?: string): CertificateRequest => ({
      requestId, status, commonName: names[0], subjectAlternativeNames: names, profile: 'tls-server', validityDays: 90, issuer: 'local', targets: [], requestedBy: 'alice', reasons: [], createdAt: now.toISOString(), keyAlgorithm: 'EC_P256', ...(decidedBy ? { decidedBy } : {}),
    } as CertificateRequest);
    const requests = new Map([
      ['approved-bank', request('approved-bank', 'issued', ['login.bank.com'], 'bob')],
      ['pending', request('pending', 'pending_approval', ['api.example.com'])],
      ['pending-bank', request('pending-bank', 'pending_approval', ['pay.bank.com'])],
    ]);
    const certs = [
      named(1, 'www.example.com'),
      // Outside the allowed domains: its first request's approval (by someone else) covers its renewals.
      named(2, 'login.bank.com', { requestId: 'approved-bank' }),
      named(3, 'shop.bank.com'),
      named(4, 'admin.example.com'),
      named(5, 'other.lab.example.org', { environment: 'lab' }),
      // A renewal request waits for an approver, but the policy in force no longer wants one.
      named(6, 'api.example.com', { renewalRequestId: 'pending' }),
      // Outside the allowed domains, waiting for an approver: still so.
      named(9, 'pay.bank.com', { renewalRequestId: 'pending-bank' }),
      // Ordered by an ACME client through certops' ACME server: the client installs it (no target needed), the gate still judges it.
      named(10, 'acme.example.com', { requestedBy: 'acme:account-1', targets: [] }),
      named(11, 'acme.bank.com', { requestedBy: 'acme:account-1', targets: [] }),
      // Found by a scan: the gate has nothing to say of what certops does not renew.
      cert(7, 30, { commonName: 'shop.bank.com', subjectAlternativeNames: ['shop.bank.com'], source: 'scan', status: 'discovered' }),
    ];
    const judged = await renewalJudgements(certs, { policy, ownership, requests: { get: async (id) => requests.get(id) } });
    expect(Object.fromEntries(judged)).toEqual({ c3: 'needs-approval', c4: 'policy-refuses', c5: 'policy-refuses', c9: 'needs-approval', c11: 'needs-approval' });
    const report = readinessReport(certs, now, judged);
    expect(report.certificates.map((c) => [c.id, c.reasons])).toEqual([['c3', ['needs-approval']], ['c4', ['policy-refuses']], ['c5', ['policy-refuses']], ['c9', ['needs-approval']], ['c11', ['needs-approval']], ['c7', ['not-managed', 'issuer-without-acme']]]);
    expect(report.byReason['policy-refuses']).toMatchObject({ count: 2, meaning: expect.stringMatching(/refuse its renewal/) });
  });
});
