import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltInCa } from '../../adapters/built-in-ca.ts';
import { KmsDataKeys } from '../../adapters/aws/kms-data-keys.ts';
import { SealedKeyVault } from '../../adapters/vault/sealed-key-vault.ts';
import { DynamoAuthorityStore } from '../../adapters/dynamodb/authority-store.ts';
import { DynamoIssuanceJournal } from '../../adapters/dynamodb/issuance-journal.ts';
import { DynamoRevocationStore } from '../../adapters/dynamodb/revocation-store.ts';
import { freshTable } from '../support/dynamo.ts';
import { localVault, openBuiltInCa } from '../support/vault.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';

/**
 * The built-in CA keeps nothing on local disk or in one process: it is in the table (certificates)
 * and the vault (keys sealed there), so every execution environment signs with the one CA.
 */
describe('the built-in CA is kept in the table', () => {
  let db: Awaited<ReturnType<typeof freshTable>>;
  // The first process's folder: its master key stands in for KMS.
  const home = mkdtempSync(join(tmpdir(), 'certops-ca-first-'));
  beforeAll(async () => {
    db = await freshTable();
  });
  afterAll(() => db.close());

  it('two first opens at once record one CA; the other drops the keys it minted', async () => {
    const [a, b] = await Promise.all([openBuiltInCa(db.table, home), openBuiltInCa(db.table, home)]);
    expect(await b.chainPem()).toBe(await a.chainPem());
    const keys = (await db.table.doc.send(new ScanCommand({ TableName: db.table.name, FilterExpression: 'begins_with(pk, :k)', ExpressionAttributeValues: { ':k': 'KEY#ca/' } }))).Items!;
    expect(keys.map((k) => k.pk).sort()).toEqual([expect.stringMatching(/^KEY#ca\/local-[0-9a-f]{32}\/intermediate$/), expect.stringMatching(/^KEY#ca\/local-[0-9a-f]{32}\/root$/)]);
  });

  it('a process with another (empty) local folder signs with the same CA, and its leaves chain to the same root', async () => {
    const first = await openBuiltInCa(db.table, home);
    // Only the master key (KMS on AWS) is shared: the second process's folder holds nothing else.
    const elsewhere = mkdtempSync(join(tmpdir(), 'certops-ca-other-'));
    copyFileSync(join(home, 'master.key'), join(elsewhere, 'master.key'));
    const second = await openBuiltInCa(db.table, elsewhere);
    expect(await second.chainPem()).toBe(await first.chainPem());
    const key = await newKeyAndCsr('EC_P256', 'shared.example.com', ['shared.example.com']);
    const leaf = await second.issue({ ...key, commonName: 'shared.example.com', subjectAlternativeNames: ['shared.example.com'], validityDays: 30, profile: 'tls-server' });
    const chain = await first.chainPem();
    const root = chain.slice(chain.lastIndexOf('-----BEGIN'));
    expect(verifyPemChain({ chainPem: leaf.certificatePem + chain, rootsPem: root, at: new Date(), host: 'shared.example.com', purpose: 'serverAuth' })).toMatchObject({ valid: true });
    expect(certificateBlocks(chain, 'chain')).toHaveLength(2);
    expect(readdirSync(elsewhere)).toEqual(['master.key']);
  });

  it('a sealed key opens only under its own reference and with its own master key', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-vault-'));
    const vault = await localVault(db.table, home);
    const { keyPem } = await newKeyAndCsr('EC_P256', 'k.example.com', ['k.example.com']);
    await vault.put('cert/abc', keyPem);
    expect(await vault.get('cert/abc')).toBe(keyPem);
    const item = (await db.table.doc.send(new ScanCommand({ TableName: db.table.name, FilterExpression: 'pk = :k', ExpressionAttributeValues: { ':k': 'KEY#cert/abc' } }))).Items![0];
    expect(JSON.stringify(item)).not.toContain('PRIVATE KEY');
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await db.table.doc.send(new PutCommand({ TableName: db.table.name, Item: { ...item, pk: 'KEY#cert/moved' } }));
    await expect(vault.get('cert/moved')).rejects.toThrow(/authenticate/);
    await expect((await localVault(db.table, mkdtempSync(join(tmpdir(), 'certops-other-master-')))).get('cert/abc')).rejects.toThrow(/authenticate/);
  });

  it('on AWS (KMS wraps the data keys) it is minted by the first cold start only; later ones open it with Decrypt alone', async () => {
    const own = await freshTable();
    const kms = mockClient(KMSClient);
    const wrapped = new Map<string, Buffer>();
    kms.on(GenerateDataKeyCommand).callsFake(() => {
      const plaintext = randomBytes(32);
      const blob = randomBytes(48);
      wrapped.set(blob.toString('hex'), plaintext);
      return { Plaintext: Uint8Array.from(plaintext), CiphertextBlob: blob };
    });
    kms.on(DecryptCommand).callsFake((input) => ({ Plaintext: Uint8Array.from(wrapped.get(Buffer.from(input.CiphertextBlob).toString('hex'))!) }));
    try {
      // Each cold start: a new process, nothing on disk, the same table and key.
      const coldStart = () => BuiltInCa.open({
        authorities: new DynamoAuthorityStore(own.table), vault: new SealedKeyVault(own.table, new KmsDataKeys(new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), 'alias/certops')),
        baseUrl: 'https://api.example.com', clock: { now: () => new Date() }, revocations: new DynamoRevocationStore(own.table), journal: new DynamoIssuanceJournal(own.table),
      });
      const first = await coldStart();
      expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
      const second = await coldStart();
      expect(await second.chainPem()).toBe(await first.chainPem());
      expect(kms.commandCalls(GenerateDataKeyCommand)).toHaveLength(2);
      expect(kms.commandCalls(DecryptCommand).map((c) => c.args[0].input.EncryptionContext?.keyRef)).toEqual([expect.stringMatching(/^ca\/local-[0-9a-f]{32}\/intermediate$/), expect.stringMatching(/^ca\/local-[0-9a-f]{32}\/intermediate$/)]);
    } finally {
      kms.restore();
      await own.close();
    }
  });
});
