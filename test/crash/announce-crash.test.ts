import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAST, apiOf, auditOf, death, siemLines, startDoomed, tableItems } from '../support/crash.ts';
import { eventually, startStack } from '../support/processes.ts';

type Api = ReturnType<typeof apiOf>;

/**
 * Changes an operator makes through the API, each killed between the change and its
 * announcement (`announce:<detail-type>`), one after another on the same state folder: after the
 * restarts every change is in the audit trail and the SIEM once, and the work it starts is done.
 */
const CHANGES: { type: string; act(api: Api, home: string): Promise<unknown>; ours?(detail: Record<string, any>): boolean }[] = [
  // The first start's admin token is announced too.
  { type: 'token.created', act: (api) => api('POST', '/tokens', { name: 'ci-bot', role: 'viewer' }), ours: (d) => d.name === 'ci-bot' },
  { type: 'target.registered', act: (api, home) => api('POST', '/targets', { name: 'web', type: 'filesystem', directory: join(home, 'targets', 'web') }), ours: (d) => d.target === 'web' },
  {
    type: 'target.removed',
    async act(api, home) {
      expect((await api('POST', '/targets', { name: 'gone', type: 'filesystem', directory: join(home, 'targets', 'gone') })).status).toBe(201);
      return api('DELETE', '/targets/gone');
    },
  },
  { type: 'ct.watchlist_changed', act: (api) => api('PUT', '/ct/watchlist', { domains: ['.watched.test'] }) },
  { type: 'scan.requested', act: (api) => api('POST', '/scans', { targets: ['127.0.0.1'], ports: [9] }) },
  {
    type: 'certificate.revoked',
    async act(api) {
      const issued = await api('POST', '/certificates', { commonName: 'revoked.crash.example.com', environment: 'dev', owner: 'team-crash' });
      expect(issued.status).toBe(201);
      return api('POST', `/certificates/${issued.body.certificateId}/revoke`, { reason: 'keyCompromise' });
    },
  },
];

const ours = (change: (typeof CHANGES)[number], detail: Record<string, any>) => change.ours?.(detail) ?? true;

describe('changes killed before they were announced', () => {
  it('are announced once after the restart, and the work they start is done', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-announce-crash-'));
    for (const change of CHANGES) {
      const doomed = await startDoomed(home, `announce:${change.type}`);
      // The answer dies with the process.
      await change.act(apiOf(doomed), home).catch(() => undefined);
      expect(await death(doomed)).toBe('SIGKILL');
    }
    const stack = await startStack(home, FAST);
    try {
      const api = apiOf(stack);
      const audit = await eventually(async () => {
        const a = await auditOf(stack);
        return CHANGES.every((c) => a.records.some((r) => r.detailType === c.type && ours(c, r.detail))) && a;
      }, `audit records of ${CHANGES.map((c) => c.type).join(', ')}`, 30_000);
      expect(audit.verify.code).toBe(0);
      const lines = siemLines(home);
      for (const c of CHANGES) {
        expect(audit.records.filter((r) => r.detailType === c.type && ours(c, r.detail)), c.type).toHaveLength(1);
        expect(lines.filter((l) => l.event_type === c.type && ours(c, l)), c.type).toHaveLength(1);
      }
      const record = (type: string) => audit.records.find((r) => r.detailType === type)!.detail;
      // The state each announcement names is the stored one.
      expect((await api('GET', '/targets')).body.items.map((t: { name: string }) => t.name)).toEqual(['web']);
      expect((await api('GET', '/ct/watchlist')).body.domains).toEqual(['.watched.test']);
      expect((await api('GET', `/certificates/${record('certificate.revoked').certificateId}`)).body).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
      // The scan whose request was never announced runs now, instead of staying `running` for ever.
      const scanId = record('scan.requested').scanId;
      await eventually(async () => (await api('GET', `/scans/${scanId}`)).body.status === 'completed', `scan ${scanId} completed`, 30_000);
    } finally {
      expect(await stack.stop()).toBe(0);
    }
    expect((await tableItems(home)).filter((i) => String(i.pk).startsWith('ANNOUNCE#'))).toEqual([]);
    // Seven starts of the suite one after another (six killed, one to recover): each takes several
    // seconds while another test file runs beside it on two cores, past the default minute.
  }, 180_000);
});
