import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTable, tableClientConfig } from '../../adapters/dynamodb/table.ts';
import { makeChain } from '../support/pki.ts';
import { startStack, type RunningStack } from '../support/processes.ts';
import { localVault } from '../support/vault.ts';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';

/** How the earlier file vault sealed (AES-256-GCM, no additional data), to make a state folder of that version. */
function seal(key: Buffer, plain: Buffer) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** A state folder of the version that kept the CA in files and the vault on disk is taken over, not replaced. */
describe('a state folder from before the CA and the vault moved into the table', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-legacy-'));
  let stack: RunningStack;
  let chain: Awaited<ReturnType<typeof makeChain>>;
  const certKey = 'cert/0123456789abcdef0123456789abcdef';

  beforeAll(async () => {
    chain = await makeChain(['legacy.example.com']);
    const master = randomBytes(32);
    writeFileSync(join(home, 'master.key'), master.toString('base64'), { mode: 0o600 });
    mkdirSync(join(home, 'ca'));
    writeFileSync(join(home, 'ca', 'root.pem'), chain.root.pem);
    writeFileSync(join(home, 'ca', 'intermediate.pem'), chain.intermediate.pem);
    mkdirSync(join(home, 'vault'));
    for (const [ref, pem] of [['ca/root', await chain.root.keyPem()], ['ca/intermediate', await chain.intermediate.keyPem()], [certKey, await chain.leaf.keyPem()]]) {
      const dataKey = randomBytes(32);
      writeFileSync(join(home, 'vault', `${ref.replaceAll('/', '__')}.json`), JSON.stringify({ wrappedKey: seal(master, dataKey), key: seal(dataKey, Buffer.from(pem)) }));
    }
    stack = await startStack(home);
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('keeps its CA and its keys: the chain is the same, new certificates chain to the old root, the old keys open', async () => {
    expect(await (await fetch(`${stack.url}/ca/chain`)).text()).toBe(chain.intermediate.pem + chain.root.pem);
    expect(readFileSync(join(home, 'ca', 'root.pem'), 'utf8')).toBe(chain.root.pem);
    const token = readFileSync(stack.tokenFile, 'utf8').trim();
    const issued = await (await fetch(`${stack.url}/certificates`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ commonName: 'after.example.com' }) })).json();
    const cert = await (await fetch(`${stack.url}/certificates/${issued.certificateId}`, { headers: { authorization: `Bearer ${token}` } })).json();
    expect(verifyPemChain({ chainPem: cert.certificatePem + cert.chainPem, rootsPem: chain.root.pem, at: new Date(), host: 'after.example.com', purpose: 'serverAuth' })).toMatchObject({ valid: true });
    const table = openTable('certops-local', { ...tableClientConfig(`unix:${join(home, 'dynamodb.sock')}`), region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect(await (await localVault(table, home)).get(certKey)).toBe(await chain.leaf.keyPem());
    expect([existsSync(join(home, 'vault')), existsSync(join(home, 'vault.imported'))]).toEqual([false, true]);
  });
});
