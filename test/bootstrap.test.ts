import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, type BootstrapClients } from '../bin/bootstrap.ts';
import { openTable, tableClientConfig } from '../adapters/dynamodb/table.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';
import { eventually, startStack, type RunningStack } from './support/processes.ts';
import { freshTable } from './support/dynamo.ts';

/**
 * `certops bootstrap` against the local stack's AWS-protocol endpoints: its table (DynamoDB API)
 * and its HTTP API, found through the stack's CloudFormation outputs (the SDK's mock).
 */
describe('certops bootstrap', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-bootstrap-'));
  const cloudformation = mockClient(CloudFormationClient);
  let stack: RunningStack;
  let clients: BootstrapClients;

  const call = async (token: string, method: string, path: string) => {
    const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    stack = await startStack(home);
    // The outputs name the stack running now (a test restarts it on another port).
    cloudformation.on(DescribeStacksCommand, { StackName: 'certops-prod' }).callsFake(() => ({ Stacks: [{ StackName: 'certops-prod', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [
      { OutputKey: 'CertopsApiUrl', OutputValue: stack.url }, { OutputKey: 'CertopsTableName', OutputValue: 'certops-local' }, { OutputKey: 'CertopsDefaultIssuer', OutputValue: 'local' },
    ] }] }));
    cloudformation.on(DescribeStacksCommand, { StackName: 'certops-nope' }).rejects(Object.assign(new Error('Stack with id certops-nope does not exist'), { name: 'ValidationError' }));
    const table = openTable('certops-local', { ...tableClientConfig(`unix:${join(home, 'dynamodb.sock')}`), region: 'us-east-1', credentials: { accessKeyId: 'operator', secretAccessKey: 'operator' } });
    clients = { cloudformation: new CloudFormationClient({ region: 'us-east-1' }), table: () => table, fetch, clock: { now: () => new Date() } };
  });
  afterAll(async () => {
    cloudformation.restore();
    await stack.stop();
  });

  it('makes the first admin token and records the initial configuration once; run again it changes nothing', async () => {
    // The local stack minted its own admin token; revoked, no live admin is left (as in a fresh AWS stack).
    const local = readFileSync(stack.tokenFile, 'utf8').trim();
    const own = (await call(local, 'GET', '/tokens')).body.items.find((t: { name: string }) => t.name === 'admin');
    expect((await call(local, 'DELETE', `/tokens/${own.tokenId}`)).status).toBe(200);
    const configFile = join(home, 'initial.yaml');
    writeFileSync(configFile, 'tokens:\n  defaultDays: 14\n  maxDays: 30\n');

    const first = await bootstrap({ stage: 'prod', configFile }, clients);
    const root = certificateBlocks(readFileSync(join(home, 'ca', 'root.pem'), 'utf8'), 'root')[0];
    expect(first).toMatchObject({ stackName: 'certops-prod', apiUrl: stack.url, tableName: 'certops-local', builtInRootSha256: createHash('sha256').update(root).digest('hex'), configuration: { version: 1, recordedNow: true } });
    expect(first.admin.token).toMatch(/^cop_/);
    expect((Date.parse(first.admin.expiresAt) - Date.now()) / 86_400_000).toBeCloseTo(14, 0);
    // The token is in the table the suite reads: it works against the API at once.
    const listed = await call(first.admin.token!, 'GET', '/tokens');
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((t: { tokenId: string }) => t.tokenId === first.admin.tokenId)).toMatchObject({ role: 'admin', createdBy: 'bootstrap' });
    expect((await call(first.admin.token!, 'GET', '/config')).body).toMatchObject({ version: 1, changedBy: 'bootstrap', document: { tokens: { defaultDays: 14 } } });

    writeFileSync(configFile, 'tokens:\n  defaultDays: 7\n  maxDays: 30\n');
    const again = await bootstrap({ stage: 'prod', configFile }, clients);
    expect(again).toMatchObject({ builtInRootSha256: first.builtInRootSha256, configuration: { version: 1, recordedNow: false }, admin: { tokenId: first.admin.tokenId } });
    expect(again.admin.token).toBeUndefined();
    expect((await call(first.admin.token!, 'GET', '/tokens')).body.items.filter((t: { role: string; revokedAt?: string }) => t.role === 'admin' && !t.revokedAt)).toHaveLength(1);

    // Its acts reach the audit trail through the suite's own recovery (the operator may not put certops.* events).
    expect(await stack.stop()).toBe(0);
    stack = await startStack(home);
    const admin = readFileSync(stack.tokenFile, 'utf8').trim();
    const audit = async (type: string) => (await call(admin, 'GET', `/events?type=${type}&limit=100`)).body.items as { detail: Record<string, unknown> }[];
    await eventually(async () => (await audit('token.created')).some((r) => r.detail.tokenId === first.admin.tokenId && r.detail.createdBy === 'bootstrap'), 'token.created by bootstrap');
    await eventually(async () => (await audit('config.changed')).some((r) => r.detail.changedBy === 'bootstrap' && r.detail.version === 1), 'config.changed by bootstrap');
  });

  it('names what is missing: a stack that is not deployed, an API that does not answer', async () => {
    await expect(bootstrap({ stage: 'nope' }, clients)).rejects.toThrow(/no stack certops-nope: deploy it first/);
    // A configuration naming files here would name nothing the functions on AWS can read.
    const fresh = await freshTable();
    const withFiles = join(home, 'with-files.yaml');
    writeFileSync(join(home, 'roots.pem'), readFileSync(join(home, 'ca', 'root.pem')));
    writeFileSync(withFiles, 'inventory:\n  trustedRootsFile: roots.pem\n');
    await expect(bootstrap({ stage: 'prod', configFile: withFiles }, { ...clients, table: () => fresh.table })).rejects.toThrow(/inventory\.trustedRootsFile name files on this machine/);
    await fresh.close();
    await expect(bootstrap({ stage: 'prod' }, { ...clients, fetch: async () => { throw new Error('connect ECONNREFUSED'); } })).rejects.toThrow(/does not answer \(connect ECONNREFUSED\)/);
  });
});
