import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAST, apiOf, auditOf, death, siemLines, staleLock, startDoomed, tableItems } from '../support/crash.ts';
import { ROOT, eventually, openssl, startStack, waitForLine } from '../support/processes.ts';
import { servedCertificate } from '../support/served-certificate.ts';

/**
 * A renewal saga killed after each of its tasks, then resumed by the next start on the same state
 * folder: it finishes (or, on the failing path, rolls back) exactly as it would have without the
 * crash, and leaves one active certificate, served by the target, and no lock.
 */
const SUCCEEDING = ['saga:after-Lock', 'saga:renew-after-successor', 'saga:after-Renew', 'saga:after-Deploy', 'saga:after-Verify', 'saga:after-Commit'];
const ROLLING_BACK = ['saga:after-Deploy', 'saga:after-Rollback', 'saga:after-Abort'];

async function tlsServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=bootstrap', '-days', '1',
    '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'cert.pem')]);
  const child = spawn(process.execPath, [join(ROOT, 'test/support/tls-file-server.mjs'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, port: Number((await waitForLine(child, /listening (\d+)\n/))[1]) };
}

const fingerprint = (pem: string) => openssl(['x509', '-noout', '-fingerprint', '-sha256'], pem).trim().split('=')[1];

describe('a renewal saga killed after each task', () => {
  const servers: ChildProcess[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.kill();
  });

  /** Issues a certificate onto one target and starts its renewal on a stack that dies at `point`. */
  async function renewUntilCrash(point: string, healthy: boolean) {
    const home = mkdtempSync(join(tmpdir(), 'certops-saga-crash-'));
    const dir = join(home, 'targets', 'web');
    const tls = await tlsServer(dir);
    servers.push(tls.child);
    const doomed = await startDoomed(home, point);
    const api = apiOf(doomed);
    // A target that nothing verifies on (port 9) makes the saga fail at verify and roll back.
    const endpoint = healthy ? `127.0.0.1:${tls.port}` : '127.0.0.1:9';
    expect((await api('POST', '/targets', { name: 'web', type: 'filesystem', directory: dir, endpoint, reloadCommand: `kill -HUP ${tls.child.pid}` })).status).toBe(201);
    const issued = await api('POST', '/certificates', { commonName: 'saga.crash.example.com', targets: ['web'] });
    expect(issued.status).toBe(201);
    const original = (await api('GET', `/certificates/${issued.body.certificateId}`)).body;
    await eventually(async () => readFileSync(join(dir, 'cert.pem'), 'utf8') === original.certificatePem, 'the first deployment');
    // The first deployment's own verification must be over, or the renewal finds the lock taken.
    const started = await eventually(async () => {
      const r = await api('POST', `/certificates/${original.id}/renew`);
      return r.status === 202 && r;
    }, 'the renewal to start', 30_000, 200);
    expect(await death(doomed)).toBe('SIGKILL');
    return { home, dir, tls, original, execution: started.body.executionName as string };
  }

  async function afterRestart(home: string, original: { id: string }, execution: string) {
    // The dead process left the execution running: only the next start can finish it.
    expect((await tableItems(home)).find((i) => i.pk === `EXEC#${execution}` && i.sk === 'EXEC')).toMatchObject({ status: 'RUNNING' });
    const stack = await startStack(home, FAST);
    const api = apiOf(stack);
    return { stack, lineage: async () => ((await api('GET', '/certificates?domain=saga.crash.example.com&limit=50')).body.items as any[]).filter((c) => c.id === original.id || c.renewalOf === original.id) };
  }

  async function checkTrail(stack: Awaited<ReturnType<typeof startStack>>, home: string, execution: string, outcome: string) {
    const lines = siemLines(home);
    const ids = lines.map((l) => l.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(lines.filter((l) => l.event_type === outcome && l.correlationId === execution)).toHaveLength(1);
    const audit = await auditOf(stack);
    expect(audit.verify.code).toBe(0);
    for (const id of ids) expect(audit.records.map((r) => r.eventId)).toContain(id);
  }

  async function checkTable(home: string) {
    const items = await tableItems(home);
    expect(items.filter(staleLock)).toEqual([]);
    expect(items.filter((i) => i.sk === 'EXEC' && i.status === 'RUNNING')).toEqual([]);
    expect(items.filter((i) => i.pk === 'DELIVERY')).toEqual([]);
  }

  it.each(SUCCEEDING)('at %s: resumes, commits once, and the target serves the one active certificate', async (point) => {
    const { home, tls, original, execution } = await renewUntilCrash(point, true);
    const { stack, lineage } = await afterRestart(home, original, execution);
    try {
      const succeeded = await eventually(async () => siemLines(home).find((l) => l.event_type === 'renewal.succeeded' && l.correlationId === execution), 'renewal.succeeded after the restart', 45_000)
        .catch((err) => {
          // What the restarted stack and the SIEM said, to tell why from a CI log.
          const said = siemLines(home).filter((l) => l.correlationId === execution).map((l) => `${l.event_type} ${l.step ?? ''} ${l.cause ?? ''}`);
          throw new Error(`${(err as Error).message}\nevents: ${said.join(' | ')}\nlogs: ${stack.output().split('\n').filter((l) => /"level":"(ERROR|WARN)"/.test(l)).slice(-8).join('\n')}`);
        });
      const certs = await lineage();
      expect(certs).toHaveLength(2);
      const active = certs.filter((c) => c.status === 'active');
      expect(active.map((c) => c.id)).toEqual([succeeded.newCertificateId]);
      expect(certs.find((c) => c.id === original.id)).toMatchObject({ status: 'superseded', supersededBy: succeeded.newCertificateId });
      const served = await servedCertificate('127.0.0.1', tls.port, 'saga.crash.example.com');
      expect(served.fingerprintSha256).toBe(fingerprint(active[0].certificatePem));
      await checkTrail(stack, home, execution, 'renewal.succeeded');
    } finally {
      expect(await stack.stop()).toBe(0);
    }
    await checkTable(home);
  });

  it.each(ROLLING_BACK)('at %s on a renewal that fails verification: resumes the rollback, and the old certificate stays', async (point) => {
    const { home, dir, original, execution } = await renewUntilCrash(point, false);
    const { stack, lineage } = await afterRestart(home, original, execution);
    try {
      await eventually(async () => siemLines(home).find((l) => l.event_type === 'renewal.failed' && l.correlationId === execution), 'renewal.failed after the restart', 45_000);
      const certs = await lineage();
      expect(certs).toHaveLength(2);
      expect(certs.filter((c) => c.status === 'active').map((c) => c.id)).toEqual([original.id]);
      expect(certs.find((c) => c.id !== original.id)).toMatchObject({ status: 'revoked' });
      expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe((original as any).certificatePem);
      await checkTrail(stack, home, execution, 'renewal.failed');
    } finally {
      expect(await stack.stop()).toBe(0);
    }
    await checkTable(home);
  });
});
