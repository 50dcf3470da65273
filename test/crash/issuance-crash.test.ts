import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAST, apiOf, auditOf, death, siemLines, staleLock, startDoomed, tableItems } from '../support/crash.ts';
import { eventually, startStack } from '../support/processes.ts';

/**
 * A burst of issuances with Idempotency-Keys, the process killed at each named point of the
 * issuance path, the bus and the SIEM export, then started again on the same state folder while
 * the clients retry. What must hold afterwards is what an auditor asks of a CA.
 */
const POINTS = [
  'issuance:after-claim',
  'issuance:after-key',
  'issuance:after-sign',
  'issuance:after-vault',
  'issuance:after-record',
  'issuance:after-request',
  'bus:after-accept',
  'siem:after-outbox',
];
const BURST = 12;

describe.each(POINTS)('killed at %s during a burst of issuances', (point) => {
  it('loses nothing, duplicates nothing, and leaves nothing half done', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-crash-'));
    const keys = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const body = (i: number) => ({ commonName: `burst-${i}.crash.example.com`, environment: 'dev', owner: 'team-crash' });
    const answered = new Map<string, string>();

    const doomed = await startDoomed(home, point);
    const api = apiOf(doomed);
    // The clients fire at once; the ones the dying process answered keep their answer.
    await Promise.allSettled(keys.map(async (key, i) => {
      const r = await api('POST', '/certificates', body(i), { 'idempotency-key': key });
      if (r.status === 201) answered.set(key, r.body.certificateId);
    }));
    expect(await death(doomed)).toBe('SIGKILL');
    expect(answered.size).toBeLessThan(BURST);

    const stack = await startStack(home, FAST);
    try {
      const again = apiOf(stack);
      // Every client retries with its key until it is answered: nobody waits for ever.
      const certificates = new Map<string, string>();
      for (const [i, key] of keys.entries()) {
        const r = await eventually(async () => {
          const res = await again('POST', '/certificates', body(i), { 'idempotency-key': key });
          if (res.status !== 201) throw new Error(`answered ${res.status} ${JSON.stringify(res.body)}`);
          return res;
        }, `an answer for ${key}`, 20_000, 200);
        expect(r.body).toMatchObject({ status: 'issued' });
        if (answered.has(key)) expect(r.body.certificateId).toBe(answered.get(key));
        certificates.set(key, r.body.certificateId);
      }
      expect(new Set(certificates.values()).size).toBe(BURST);

      // Each answered certificate is in the inventory, with its request, its audit record and its SIEM line.
      for (const id of certificates.values()) {
        const cert = (await again('GET', `/certificates/${id}`)).body;
        expect(cert).toMatchObject({ status: 'active', source: 'issued' });
        expect((await again('GET', `/requests/${cert.requestId}`)).body).toMatchObject({ status: 'issued', certificateId: id });
      }
      const issuedIn = (lines: Record<string, any>[]) => lines.filter((l) => (l.event_type ?? l.detailType) === 'certificate.issued').map((l) => l.certificateId ?? l.detail?.certificateId);
      const siem = await eventually(async () => {
        const lines = siemLines(home);
        return [...certificates.values()].every((id) => issuedIn(lines).includes(id)) && lines;
      }, 'a SIEM line for every certificate.issued', 20_000).catch(async (err) => {
        const missing = [...certificates.values()].filter((id) => !issuedIn(siemLines(home)).includes(id));
        const a = await auditOf(stack);
        throw new Error(`${err.message}: no SIEM line for ${missing.join(', ')}; in the audit trail: ${missing.map((id) => a.records.some((r) => r.detail.certificateId === id && r.detailType === 'certificate.issued')).join(', ')}`);
      });
      const audit = await eventually(async () => {
        const a = await auditOf(stack);
        return [...certificates.values()].every((id) => a.records.some((r) => r.detailType === 'certificate.issued' && r.detail.certificateId === id)) && a;
      }, 'an audit record for every certificate.issued', 20_000);

      // Nothing twice: one certificate.issued per certificate, one SIEM line and one audit record per event.
      expect(issuedIn(siem).sort()).toEqual([...certificates.values()].sort());
      const siemIds = siem.map((l) => l.eventId);
      expect(new Set(siemIds).size).toBe(siemIds.length);
      const auditIds = audit.records.map((r) => r.eventId);
      expect(new Set(auditIds).size).toBe(auditIds.length);
      // The audit trail is intact and covers every event the SIEM was sent.
      expect(audit.verify.code).toBe(0);
      expect(audit.verify.stdout).toMatch(/intact/);
      for (const id of siemIds) expect(auditIds).toContain(id);
    } finally {
      expect(await stack.stop()).toBe(0);
    }

    // What no API lists: every certificate the CA signed is in the inventory, nothing is owed to the
    // bus, no lock outlived its holder, and no generated key waits under a finished request.
    const items = await tableItems(home);
    const inventory = new Set(items.filter((i) => i.sk === 'CERT').map((i) => i.certificatePem));
    const signed = items.filter((i) => String(i.pk).startsWith('ISSUED#'));
    expect(signed.length).toBe(BURST);
    for (const s of signed) expect(inventory.has(s.value)).toBe(true);
    expect(items.filter((i) => i.pk === 'DELIVERY')).toEqual([]);
    expect(items.filter(staleLock)).toEqual([]);
    expect(items.filter((i) => i.sk === 'REQ' && i.status !== 'issued')).toEqual([]);
  });
});
