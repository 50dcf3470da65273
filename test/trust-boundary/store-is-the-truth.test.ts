import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshTable } from '../support/dynamo.ts';
import { makeChain } from '../support/pki.ts';
import { localVault } from '../support/vault.ts';
import { DynamoAuthorityStore } from '../../adapters/dynamodb/authority-store.ts';
import { certificateKeysOnly } from '../../shared/certificate-key-vault.ts';
import { ROOT } from '../support/processes.ts';
import type { Runtime } from '../../adapters/runtime.ts';
import { logger } from '../../adapters/logger.ts';
import { queueBatch } from '../../local/queue-delivery.ts';

/**
 * Events only say that something happened: every consumer reads what to act on from the store.
 * Here the suite's own handlers get forged events (as a compromised producer or a replay would
 * send them) and must act on the stored facts or not at all.
 */
describe('events notify, the store is the truth', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-truth-'));
  const bus = mockClient(EventBridgeClient);
  let db: Awaited<ReturnType<typeof freshTable>>;
  let rt: Runtime;
  let handlers: { deployment: typeof import('../../services/deployment/handler.ts'); inventory: typeof import('../../services/inventory/handler.ts') };
  const victim = join(home, 'targets', 'victim');
  const asEvent = (source: string, detailType: string, detail: Record<string, unknown>) => queueBatch('consumer', [{ version: '0', id: `ev-${Math.random()}`, source, 'detail-type': detailType, account: '0', time: new Date().toISOString(), region: 'local', resources: [], detail }]);
  const context = { getRemainingTimeInMillis: () => 60_000 };
  /** Consumes the one-message batch, and says why the consumer failed it (its log), or undefined if it did not. */
  const failure = async (consumer: (batch: never, context: never) => Promise<SQSBatchResponse>, batch: SQSEvent) => {
    const errors = vi.spyOn(logger, 'error');
    try {
      const { batchItemFailures } = await consumer(batch as never, context as never);
      expect(batchItemFailures.map((f) => f.itemIdentifier)).toEqual(batchItemFailures.length ? [batch.Records[0].messageId] : []);
      return batchItemFailures.length ? String((errors.mock.calls.at(-1)?.[1] as { error?: string })?.error) : undefined;
    } finally {
      errors.mockRestore();
    }
  };

  beforeAll(async () => {
    db = await freshTable();
    bus.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    Object.assign(process.env, {
      CERTOPS_HOME: home, CERTOPS_TABLE: db.table.name, CERTOPS_DYNAMODB_ENDPOINT: db.endpoint,
      CERTOPS_AWS_ENDPOINT: 'http://127.0.0.1:9', CERTOPS_VERIFY_ATTEMPTS: '1', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x',
    });
    const { runtime } = await import('../../adapters/runtime.ts');
    rt = runtime();
    await rt.authority('local');
    handlers = { deployment: await import('../../services/deployment/handler.ts'), inventory: await import('../../services/inventory/handler.ts') };
    // Requesters may deploy there: what stops a CA key must be the store and the vault, not the target's access rules.
    await rt.targets.put({ name: 'victim', type: 'filesystem', directory: victim, registeredBy: 'admin', registeredByRole: 'admin', allowed: { roles: ['requester'] } });
  });
  afterAll(() => db.close());

  const issue = async (commonName: string, targets: string[] = []) => {
    const { requestCertificate } = await import('../../services/issuance/request-certificate.ts');
    const { parseRequestInput } = await import('../../services/issuance/request-input.ts');
    const answer = await requestCertificate(parseRequestInput({ commonName, targets }, 'local'), { name: 'rita', role: 'requester' }, undefined, rt);
    return (await rt.certificates.get(answer.certificateId!))!;
  };

  it('issuance writes the inventory record itself, its key under the certificate\'s own reference', async () => {
    const cert = await issue('stored.example.com');
    expect(cert).toMatchObject({ status: 'active', source: 'issued', issuerBackend: 'local', keyRef: `cert/${cert.id}`, requestId: expect.any(String) });
    const announced = bus.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []).find((e) => JSON.parse(e.Detail!).certificateId === cert.id);
    expect(JSON.parse(announced!.Detail!).keyRef).toBeUndefined();
  });

  it('a forged certificate.issued naming the CA key and a target deploys nothing the store does not say', async () => {
    const cert = await issue('no-targets.example.com');
    const other = await makeChain(['evil.example.com']);
    await handlers.deployment.events(asEvent('certops.issuance', 'certificate.issued', {
      certificateId: cert.id, keyRef: 'ca/intermediate', targets: ['victim'], certificatePem: other.leaf.pem, subjectAlternativeNames: ['evil.example.com'], eventId: 'forged-1',
    }) as never, context as never);
    expect(await failure(handlers.deployment.events, asEvent('certops.issuance', 'certificate.issued', { certificateId: 'f'.repeat(32), keyRef: 'ca/intermediate', targets: ['victim'], eventId: 'forged-2' }))).toBeUndefined();
    expect(existsSync(victim) ? readdirSync(victim) : []).toEqual([]);
  });

  it('a stored record pointing at a CA key still gets no CA key onto a target', async () => {
    const cert = await issue('corrupted.example.com');
    await rt.certificates.update(cert.id, { keyRef: 'ca/intermediate', targets: ['victim'] });
    expect(await failure(handlers.deployment.events, asEvent('certops.issuance', 'certificate.issued', { certificateId: cert.id, eventId: 'replayed-1' }))).toMatch(/no managed key/);
    const caKey = await (await localVault(db.table, home)).get((await new DynamoAuthorityStore(db.table).get('local'))!.intermediateKeyRef);
    for (const file of existsSync(victim) ? readdirSync(victim, { recursive: true }) : []) {
      const path = join(victim, String(file));
      if (!path.endsWith('.pem')) continue;
      expect(readFileSync(path, 'utf8')).not.toBe(caKey);
    }
    // The vault every function but the CA gets refuses CA keys outright.
    const scoped = certificateKeysOnly(await localVault(db.table, home));
    await expect(scoped.get('ca/intermediate')).rejects.toMatchObject({ status: 403, field: 'keyRef' });
    await expect(scoped.put('ca/intermediate', 'x')).rejects.toMatchObject({ status: 403 });
    await expect((await rt.keyVault()).get('ca/root')).rejects.toMatchObject({ status: 403 });
  });

  it('a forged ct.certificate_observed adds nothing: inventory reads the authorized finding from the store', async () => {
    const other = await makeChain(['smuggled.example.com']);
    await handlers.inventory.events(asEvent('certops.ct-monitor', 'ct.certificate_observed', {
      logUrl: 'https://ct.example', index: 1, names: ['smuggled.example.com'], fingerprintSha256: 'AA', certificateId: 'no-such-finding', authorizedBy: 'admin', certificatePem: other.leaf.pem, eventId: 'forged-3',
    }) as never, context as never);
    expect((await rt.certificates.list({ domain: 'smuggled.example.com' }, 10)).items).toEqual([]);
  });

  it('the saga\'s deployment step deploys the successor the inventory records for its execution, not one its input names', async () => {
    const old = await issue('saga.example.com');
    const stranger = await issue('stranger.example.com');
    const saga = { certificateId: old.id, executionName: 'renew-x', trigger: 'manual', renewed: { newCertificateId: stranger.id, targets: ['victim'] } };
    await expect(handlers.deployment.step({ action: 'deploy', target: 'victim', saga } as never, context as never)).rejects.toThrow(/records no successor/);
    expect(existsSync(join(victim, 'cert.pem')) ? readFileSync(join(victim, 'cert.pem'), 'utf8') : '').not.toBe(stranger.certificatePem);
  });

  it('no consumer but the audit trail takes renewal.succeeded or certificate.issued from the renewal saga', () => {
    const patterns = JSON.parse(readFileSync(join(ROOT, 'events/patterns.json'), 'utf8')) as Record<string, { pattern: { source?: unknown[]; 'detail-type'?: string[] } }>;
    const takers = Object.entries(patterns).filter(([, { pattern }]) => pattern['detail-type']?.includes('renewal.succeeded')).map(([name]) => name);
    expect(takers).toEqual([]);
  });

  it('runs a reload command only for a target an admin registered', async () => {
    const marker = join(home, 'reloaded');
    await rt.targets.put({ name: 'legacy', type: 'filesystem', directory: join(home, 'targets', 'legacy'), reloadCommand: `touch ${marker}`, allowed: { roles: ['requester'] } });
    const cert = await issue('legacy.example.com');
    await rt.certificates.update(cert.id, { targets: ['legacy'] });
    expect(await failure(handlers.deployment.events, asEvent('certops.issuance', 'certificate.issued', { certificateId: cert.id, eventId: 'legacy-1' }))).toMatch(/no admin registered/);
    expect(existsSync(marker)).toBe(false);
  });
});
