import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordedCall } from '../../adapters/aws/call-recorder.ts';
import { resolveIntrinsics, type StackNames } from '../support/cloudformation.ts';
import { RECORDED_CALLS, ROOT } from '../support/processes.ts';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown };
type Policy = { Version: string; Statement: Statement[] };

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const TABLE = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/certops-prod-CertopsTable-1X2Y3Z`;
const BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/certops-prod`;
const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:certops-prod-renewal`;
const VAULT_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`;

/** What the packaged stack's resources are called once deployed in the account above (what the functions' roles name). */
function stackNames(resources: Record<string, { Type: string }>): StackNames {
  const attributes: Record<string, string> = { 'CertopsTable.Arn': TABLE, 'CertopsBus.Arn': BUS, 'CertopsVaultKey.Arn': VAULT_KEY };
  for (const [logical, r] of Object.entries(resources) as [string, { Type: string; Properties?: { QueueName?: string } }][]) {
    if (r.Type === 'AWS::IAM::Role') attributes[`${logical}.Arn`] = `arn:aws:iam::${ACCOUNT}:role/${logical}`;
    if (r.Type === 'AWS::SQS::Queue') attributes[`${logical}.Arn`] = `arn:aws:sqs:${REGION}:${ACCOUNT}:${r.Properties?.QueueName ?? logical}`;
  }
  return { partition: 'aws', region: REGION, accountId: ACCOUNT, refs: {}, attributes };
}

/**
 * The deployment parameters the roles are packaged with: the Private CA, SNS topic, SES identity
 * and hosted zone the SDK-mock tests' calls are made to stand for (test/support/recorded-mock.ts).
 */
const CA = `arn:aws:acm-pca:${REGION}:${ACCOUNT}:certificate-authority/11111111-2222-3333-4444-555555555555`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:certops-alerts`;
const IDENTITY = `arn:aws:ses:${REGION}:${ACCOUNT}:identity/example.com`;
const ZONE = 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ';
const PARAMETERS = { privateCaArns: CA, notificationTopicArns: TOPIC, sesIdentityArns: IDENTITY, acmeHostedZoneArns: ZONE };

/** An ARN of a test's own account, as it is in the account above (its region kept: a configuration may name any). */
const inThisAccount = (arn: string) => arn.replace(/^arn:aws:([a-z0-9-]+):([a-z0-9-]*):\d*:/, `arn:aws:$1:$2:${ACCOUNT}:`);

/** The ARN IAM evaluates a recorded call against, and the condition keys it carries. */
function requestOf(call: RecordedCall): { resource: string; context: Record<string, string | string[]> } {
  const r = call.resources;
  const [service] = call.action.split(':');
  const context = call.context ?? {};
  switch (service) {
    case 'dynamodb': return { resource: r.IndexName ? `${TABLE}/index/${r.IndexName}` : TABLE, context };
    // Multivalued keys (one value per entry of a PutEvents call): each recorded entry is one call.
    case 'events': return { resource: BUS, context: { 'events:source': [r.Source ?? ''], 'events:detail-type': [r.DetailType ?? ''] } };
    case 'states': return { resource: r.executionArn ? `arn:aws:states:${REGION}:${ACCOUNT}:execution:certops-prod-renewal:x` : STATE_MACHINE, context };
    case 'kms': return { resource: VAULT_KEY, context };
    // Listing (and a first import or request) names no certificate: IAM evaluates them against "*".
    case 'acm': return { resource: r.CertificateArn ? inThisAccount(r.CertificateArn) : '*', context };
    // The CA a mock test issues from stands for the one the parameters name.
    case 'acm-pca': return { resource: r.CertificateAuthorityArn ? CA : '*', context };
    case 'route53': return { resource: r.HostedZoneId ? ZONE : `arn:aws:route53:::change/${(r.Id ?? '').split('/').pop()}`, context };
    case 'sns': return { resource: TOPIC, context };
    case 'ses': return { resource: IDENTITY, context };
    case 'secretsmanager': return { resource: r.SecretId?.startsWith('arn:') ? inThisAccount(r.SecretId) : `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${r.SecretId ?? r.Name}-AbCdEf`, context };
    // A queue by name, URL or ARN; the local stack's stage is this template's.
    case 'sqs': {
      const name = (r.QueueName ?? r.QueueUrl?.split('/').pop() ?? r.SourceArn?.split(':').pop() ?? '').replace(/^certops-[a-z0-9]+-/, 'certops-prod-');
      return { resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`, context };
    }
    default: throw new Error(`no ARN mapping for ${call.action}`);
  }
}

/** The recorded calls of the end-to-end and SDK-mock tests that ran before this file (vitest.config.ts: group order). */
function recordedCalls(): RecordedCall[] {
  if (!existsSync(RECORDED_CALLS)) return [];
  const lines = readdirSync(RECORDED_CALLS).flatMap((f) => readFileSync(join(RECORDED_CALLS, f), 'utf8').split('\n').filter(Boolean));
  return [...new Set(lines)].map((l) => JSON.parse(l) as RecordedCall).filter((c) => c.function !== '(local)');
}

type Role = { arn: string; policies: { name: string; policy: Policy }[] };

/** What IAM decides for `role` asking `action` on `resource` with these condition keys, and the statements that allowed it. */
async function simulate(role: Role, action: string, resource: string, context: Record<string, string | string[]>) {
  const result = await runSimulation({
    request: { principal: role.arn, action, resource: { resource, accountId: ACCOUNT }, contextVariables: context },
    identityPolicies: role.policies, serviceControlPolicies: [], resourceControlPolicies: [],
  }, {});
  if (result.resultType === 'error') throw new Error(`${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  const allowedBy = result.resultType === 'single' ? (result.result.analysis?.identityAnalysis?.allowStatements ?? []).map((s) => `${s.policyId}#${s.statement.index()}`) : [];
  return { allowed: result.overallResult === 'Allowed', allowedBy };
}

async function decide(call: RecordedCall, role: Role) {
  const { resource, context } = requestOf(call);
  return simulate(role, call.action, resource, context);
}

const packaged = new Map<string, Map<string, Role>>();

/** Each function's role in the template `osls package` writes with these deployment parameters, by function name (packaged once per set of parameters). */
function packagedRoles(params: Record<string, string> = {}): Map<string, Role> {
  const known = packaged.get(JSON.stringify(params));
  if (known) return known;
  const out = mkdtempSync(join(tmpdir(), 'certops-iam-'));
  const paramArgs = Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
  execFileSync(join(ROOT, 'node_modules/.bin/osls'), ['package', '--stage', 'prod', '--region', REGION, '--package', out, ...paramArgs], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
  const resources = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')).Resources as Record<string, { Type: string; Properties: any }>;
  rmSync(out, { recursive: true, force: true });
  const names = stackNames(resources);
  const roles = new Map<string, Role>();
  for (const [, fn] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function')) {
    const name = String(fn.Properties.FunctionName).replace(/^certops-prod-/, '');
    const [roleLogical] = fn.Properties.Role['Fn::GetAtt'];
    const role = resources[roleLogical].Properties;
    roles.set(name, {
      arn: names.attributes[`${roleLogical}.Arn`],
      policies: (role.Policies ?? []).map((p: { PolicyName: unknown; PolicyDocument: unknown }, i: number) => ({ name: `${roleLogical}-${i}`, policy: resolveIntrinsics(p.PolicyDocument, names) as Policy })),
    });
  }
  packaged.set(JSON.stringify(params), roles);
  return roles;
}

const calls = recordedCalls();

/**
 * Every AWS call the handlers made while the end-to-end tests ran, evaluated with an IAM policy
 * simulator against the role the packaged template gives that function. The calls are recorded
 * by an SDK middleware in test runs (adapters/aws/call-recorder.ts), and those of the services
 * only AWS has by their SDK-mock tests (test/support/recorded-mock.ts); run alone, this file has
 * none and is skipped.
 */
describe.skipIf(calls.length === 0)('IAM coverage: the packaged roles allow every call the functions make', () => {
  let roles: Map<string, Role>;
  beforeAll(() => {
    roles = packagedRoles(PARAMETERS);
  }, 120_000);

  it('records calls of the functions the end-to-end tests drive, and of those only AWS has from their SDK-mock tests', () => {
    const functions = new Set(calls.map((c) => c.function));
    for (const fn of ['issuanceApi', 'inventoryApi', 'inventoryScanChunks', 'renewalStep', 'deploymentStep', 'siemExportEvents', 'ctMonitorPoll', 'ctMonitorPollLogs']) expect(functions, fn).toContain(fn);
    for (const fn of functions) expect(roles.has(fn), `${fn} is a function of serverless.yml`).toBe(true);
    const made = new Set(calls.map((c) => `${c.function} ${c.action}`));
    for (const call of ['deploymentStep acm:ImportCertificate', 'deploymentStep acm:AddTagsToCertificate', 'deploymentStep secretsmanager:PutSecretValue', 'renewalStep acm-pca:IssueCertificate', 'renewalStep acm:RequestCertificate', 'renewalStep route53:ChangeResourceRecordSets', 'renewalStep route53:GetChange', 'inventoryAcmSync acm:ListCertificates', 'inventoryDeadLetters sqs:StartMessageMoveTask', 'notificationsDigest sns:Publish', 'notificationsEvents ses:SendEmail', 'siemExportEvents secretsmanager:GetSecretValue']) expect(made, call).toContain(call);
  });

  it('denies none of them, and lists the grants no recorded call used', async () => {
    const denied: string[] = [];
    const used = new Set<string>();
    for (const call of calls) {
      const { allowed, allowedBy } = await decide(call, roles.get(call.function)!);
      if (!allowed) denied.push(`${call.function}: ${call.action} on ${requestOf(call).resource} ${JSON.stringify(requestOf(call).context)}`);
      for (const s of allowedBy) used.add(`${call.function} ${s}`);
    }
    const unused: string[] = [];
    for (const [fn, role] of roles) {
      role.policies.forEach((p) => p.policy.Statement.forEach((s, i) => {
        const actions = [s.Action].flat();
        // A Deny is never what allowed a call.
        if (s.Effect !== 'Allow') return;
        // CloudWatch Logs are Lambda's own writes, never an SDK call of the handler.
        if (actions.every((a) => a.startsWith('logs:'))) return;
        // A consumer's queue is read by Lambda's event source mapping under the function's role, never by the handler.
        if (JSON.stringify(actions) === JSON.stringify(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])) return;
        if (!used.has(`${fn} ${p.name}#${i + 1}`)) unused.push(`${fn}: ${actions.join(', ')}`);
      }));
    }
    console.log(`IAM coverage: ${calls.length} distinct calls of ${new Set(calls.map((c) => c.function)).size} functions evaluated, ${denied.length} denied; grants no recorded call used (${unused.length}):\n  ${unused.join('\n  ')}`);
    expect(denied).toEqual([]);
  });

  it.each([
    ['issuanceApi', 'dynamodb:PutItem'],
    ['renewalStep', 'route53:GetChange'],
  ])('would fail on a role without a grant a function needs (%s without %s)', async (fn, action) => {
    const role = roles.get(fn)!;
    const trimmed = { ...role, policies: role.policies.map((p) => ({ ...p, policy: { ...p.policy, Statement: p.policy.Statement.map((s) => ({ ...s, Action: [s.Action].flat().filter((a) => a !== action) })).filter((s) => s.Action.length) } })) };
    const made = calls.filter((c) => c.function === fn && c.action === action);
    expect(made.length).toBeGreaterThan(0);
    for (const call of made) expect((await decide(call, trimmed)).allowed).toBe(false);
    for (const call of made) expect((await decide(call, role)).allowed).toBe(true);
  });
});

/**
 * Whether `role` may make `action` on the vault key for a key sealed under `keyRef` (its KMS
 * encryption context). The simulator ignores `kms:EncryptionContext:<key>` condition keys (it
 * matches templated keys only after a "/"), so the vault key's statements are read here: an
 * Allow naming the action and the key applies when it has no condition or its one condition,
 * StringLike on that key, matches (IAM's `*` and `?`); any other condition fails the test as
 * unreadable rather than guessed at.
 */
function vaultKeyAllows(role: Role, action: string, keyRef: string): boolean {
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return role.policies.some((p) => p.policy.Statement.some((s) => {
    if (s.Effect !== 'Allow' || ![s.Action].flat().includes(action) || ![s.Resource].flat().includes(VAULT_KEY)) return false;
    if (!s.Condition) return true;
    const { StringLike, ...others } = s.Condition as { StringLike?: Record<string, string | string[]> };
    const patterns = StringLike?.['kms:EncryptionContext:keyRef'];
    if (Object.keys(others).length || !patterns || Object.keys(StringLike!).length !== 1) throw new Error(`${role.arn}: a condition this test cannot read: ${JSON.stringify(s.Condition)}`);
    return [patterns].flat().some((pattern) => glob(pattern).test(keyRef));
  }));
}

/**
 * The vault key as the roles allow it, by the encryption context each key is sealed under (its
 * vault reference): a CA's root key is opened by no function (only the intermediate signs); the
 * issuing functions open the keys they sign with or for; deployment opens certificates' keys only.
 */
describe('IAM: who may open which key in the vault', () => {
  let roles: Map<string, Role>;
  beforeAll(() => {
    roles = packagedRoles(PARAMETERS);
  }, 120_000);
  const opens = (fn: string, keyRef: string) => vaultKeyAllows(roles.get(fn)!, 'kms:Decrypt', keyRef);
  const seals = (fn: string, keyRef: string) => vaultKeyAllows(roles.get(fn)!, 'kms:GenerateDataKey', keyRef);

  it('lets no function open a CA root key', () => {
    for (const fn of roles.keys()) expect(opens(fn, 'ca/local-0a1b2c/root'), fn).toBe(false);
  });

  it('lets the issuing functions open the intermediate, an ACME issuer\'s account key and the keys they generated, and seal new keys (a CA created on first use included)', () => {
    for (const fn of ['issuanceApi', 'issuanceEvents', 'issuanceRecover', 'issuanceAcme', 'renewalStep']) {
      for (const ref of ['ca/local-0a1b2c/intermediate', 'ca/letsencrypt/acme-account/0a1b2c', 'request/r-1', 'request/renew-0f', 'cert/c-1']) expect(opens(fn, ref), `${fn} ${ref}`).toBe(true);
      for (const ref of ['ca/local-0a1b2c/root', 'cert/c-1']) expect(seals(fn, ref), `${fn} seals ${ref}`).toBe(true);
      expect(opens(fn, 'ca/local-0a1b2c/root.intermediate'), fn).toBe(false);
    }
  });

  it('lets only the ACME server seal and open External Account Binding keys', () => {
    for (const fn of roles.keys()) {
      expect(opens(fn, 'acme-eab/0a1b2c'), fn).toBe(fn === 'issuanceAcme');
      expect(seals(fn, 'acme-eab/0a1b2c'), fn).toBe(fn === 'issuanceAcme');
    }
  });

  it('lets deployment open certificates\' keys and nothing else, and the rest of the functions nothing', () => {
    for (const fn of ['deploymentApi', 'deploymentEvents', 'deploymentStep']) {
      expect(opens(fn, 'cert/c-1'), fn).toBe(true);
      for (const ref of ['ca/local-0a1b2c/intermediate', 'ca/letsencrypt/acme-account/0a1b2c', 'request/r-1']) expect(opens(fn, ref), `${fn} ${ref}`).toBe(false);
      expect(seals(fn, 'cert/c-1'), fn).toBe(false);
    }
    for (const fn of ['health', 'dashboard', 'inventoryApi', 'ctMonitorPoll', 'siemExportEvents', 'notificationsEvents']) expect(opens(fn, 'cert/c-1'), fn).toBe(false);
  });
});

/**
 * The calls the AWS adapters make (their SDK-mock tests hold their shapes: test/adapters/aws-*.test.ts,
 * test/notifications/aws-channels.test.ts), evaluated with the simulator against the packaged roles
 * with deployment parameters naming a Private CA, an SNS topic and an SES identity: each allowed to
 * the functions that make it, on what the parameters name, and refused beyond.
 */
describe('IAM: the AWS services the configuration names, and nothing beyond', () => {
  const CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0a1b2c3d-0000-4000-8000-000000000001`;
  const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
  const END_ENTITY = 'arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1';
  let roles: Map<string, Role>;
  beforeAll(() => {
    roles = packagedRoles(PARAMETERS);
  }, 120_000);
  const allowed = async (fn: string, action: string, resource: string, context: Record<string, string | string[]> = {}) => (await simulate(roles.get(fn)!, action, resource, context)).allowed;

  it('Route 53: the issuing functions change only TXT records under _acme-challenge. names, in the zones the parameters name (dns-01)', async () => {
    const txt = (names: string[], types = ['TXT']) => ({ 'route53:ChangeResourceRecordSetsNormalizedRecordNames': names, 'route53:ChangeResourceRecordSetsRecordTypes': types });
    for (const fn of ['issuanceApi', 'issuanceEvents', 'issuanceExpirePending', 'issuanceAcme', 'renewalStep']) {
      expect(await allowed(fn, 'route53:ChangeResourceRecordSets', ZONE, txt(['_acme-challenge.shop.example.com'])), fn).toBe(true);
      expect(await allowed(fn, 'route53:ListResourceRecordSets', ZONE), fn).toBe(true);
      expect(await allowed(fn, 'route53:GetChange', 'arn:aws:route53:::change/C2ABCDEF01'), `${fn} a change's status`).toBe(true);
      expect(await allowed(fn, 'route53:ChangeResourceRecordSets', ZONE, txt(['_acme-challenge.shop.example.com', 'www.example.com'])), `${fn} another name`).toBe(false);
      expect(await allowed(fn, 'route53:ChangeResourceRecordSets', ZONE, txt(['_acme-challenge.shop.example.com'], ['TXT', 'A'])), `${fn} an A record`).toBe(false);
      expect(await allowed(fn, 'route53:ChangeResourceRecordSets', ZONE.replace('Z01', 'Z99'), txt(['_acme-challenge.shop.example.com'])), `${fn} another zone`).toBe(false);
    }
    // issuanceRecover finishes revocations and issues nothing.
    for (const fn of ['inventoryApi', 'deploymentStep', 'health', 'issuanceRecover']) {
      expect(await allowed(fn, 'route53:ChangeResourceRecordSets', ZONE, txt(['_acme-challenge.shop.example.com'])), fn).toBe(false);
      expect(await allowed(fn, 'route53:GetChange', 'arn:aws:route53:::change/C2ABCDEF01'), fn).toBe(false);
    }
  });

  it('Private CA: the issuing functions issue end-entity certificates from the CA the parameters name, nothing else', async () => {
    for (const fn of ['issuanceApi', 'issuanceEvents', 'renewalStep']) {
      expect(await allowed(fn, 'acm-pca:IssueCertificate', CA, { 'acm-pca:TemplateArn': END_ENTITY }), fn).toBe(true);
      expect(await allowed(fn, 'acm-pca:IssueCertificate', CA, { 'acm-pca:TemplateArn': 'arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1' }), fn).toBe(false);
      expect(await allowed(fn, 'acm-pca:IssueCertificate', CA.replace('1111', '9999'), { 'acm-pca:TemplateArn': END_ENTITY }), fn).toBe(false);
      expect(await allowed(fn, 'acm-pca:GetCertificate', CA), fn).toBe(true);
    }
    for (const fn of ['inventoryApi', 'deploymentStep', 'notificationsEvents', 'health', 'issuanceRecover']) expect(await allowed(fn, 'acm-pca:IssueCertificate', CA, { 'acm-pca:TemplateArn': END_ENTITY }), fn).toBe(false);
    expect(await allowed('issuanceRecover', 'acm-pca:RevokeCertificate', CA), 'issuanceRecover revokes').toBe(true);
  });

  it('ACM targets: deployment imports a new certificate only tagged certops:managed, and re-imports only over one that carries the tag', async () => {
    const tagged = { 'aws:RequestTag/certops:managed': 'true', 'aws:TagKeys': ['certops:managed'] };
    for (const fn of ['deploymentStep', 'deploymentEvents', 'deploymentApi']) {
      expect(await allowed(fn, 'acm:ImportCertificate', '*', tagged), fn).toBe(true);
      expect(await allowed(fn, 'acm:ImportCertificate', '*', {}), `${fn} untagged`).toBe(false);
      expect(await allowed(fn, 'acm:ImportCertificate', CERT, { 'aws:ResourceTag/certops:managed': 'true' }), fn).toBe(true);
      expect(await allowed(fn, 'acm:ImportCertificate', CERT, {}), `${fn} over another's`).toBe(false);
    }
    for (const fn of ['issuanceApi', 'inventoryApi', 'renewalStep']) expect(await allowed(fn, 'acm:ImportCertificate', '*', tagged), fn).toBe(false);
    // A target in another region of the account (CloudFront's certificates are in us-east-1).
    expect(await allowed('deploymentStep', 'acm:ImportCertificate', CERT.replace(REGION, 'us-east-1'), { 'aws:ResourceTag/certops:managed': 'true' })).toBe(true);
    expect(await allowed('deploymentStep', 'acm:ImportCertificate', CERT.replace(ACCOUNT, '444455556666'), { 'aws:ResourceTag/certops:managed': 'true' })).toBe(false);
  });

  it('ACM issuers request public certificates only (none from a Private CA through ACM), and read them in any region of this account', async () => {
    for (const fn of ['issuanceApi', 'renewalStep']) {
      expect(await allowed(fn, 'acm:RequestCertificate', '*'), fn).toBe(true);
      expect(await allowed(fn, 'acm:RequestCertificate', '*', { 'acm:CertificateAuthority': CA }), `${fn} through a Private CA`).toBe(false);
      expect(await allowed(fn, 'acm:DescribeCertificate', CERT.replace(REGION, 'us-east-1')), fn).toBe(true);
    }
    expect(await allowed('inventoryAcmSync', 'acm:GetCertificate', CERT.replace(REGION, 'ap-southeast-2'))).toBe(true);
  });

  it('Secrets Manager: deployment writes secrets under the targets prefix only, reading none; a sink, a channel and an ACME issuer each read their own folder of the credentials prefix, in any region of this account', async () => {
    expect(await allowed('deploymentStep', 'secretsmanager:PutSecretValue', secret('certops/prod/targets/web'))).toBe(true);
    expect(await allowed('deploymentStep', 'secretsmanager:PutSecretValue', secret('certops/prod/targets/web').replace(REGION, 'us-east-1')), 'another region').toBe(true);
    expect(await allowed('deploymentStep', 'secretsmanager:PutSecretValue', secret('certops/prod/targets/web').replace(ACCOUNT, '444455556666')), 'another account').toBe(false);
    expect(await allowed('deploymentStep', 'secretsmanager:PutSecretValue', secret('prod/db/password'))).toBe(false);
    expect(await allowed('deploymentStep', 'secretsmanager:GetSecretValue', secret('certops/prod/targets/web')), 'a deployed key read back').toBe(false);
    const folders: Record<string, string[]> = { siem: ['siemExportEvents', 'siemExportFlush', 'siemExportApi'], notifications: ['notificationsEvents', 'notificationsDigest'], issuers: ['issuanceApi', 'issuanceAcme', 'renewalStep'] };
    for (const fn of ['deploymentStep', 'health', 'dashboard', 'inventoryApi']) for (const folder of Object.keys(folders)) expect(await allowed(fn, 'secretsmanager:GetSecretValue', secret(`certops/prod/credentials/${folder}/hec`)), `${fn} ${folder}`).toBe(false);
    for (const [folder, readers] of Object.entries(folders)) {
      for (const fn of readers) {
        for (const other of Object.keys(folders)) expect(await allowed(fn, 'secretsmanager:GetSecretValue', secret(`certops/prod/credentials/${other}/key`)), `${fn} reads ${other}/`).toBe(other === folder);
        expect(await allowed(fn, 'secretsmanager:GetSecretValue', secret('certops/prod/targets/web')), fn).toBe(false);
      }
    }
  });

  it('Tokens and the configuration: only the inventory API writes them; every other function\'s table writes stop short of them', async () => {
    const kinds = (...keys: string[]) => ({ 'dynamodb:LeadingKeys': keys });
    for (const [fn, role] of roles) {
      const writes = role.policies.some((p) => p.policy.Statement.some((s) => s.Effect === 'Allow' && [s.Action].flat().includes('dynamodb:PutItem')));
      if (!writes) continue;
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']) {
        for (const kind of ['TOKEN#x', 'TOKENNAME#x', 'TOKENSOURCE#x', 'CONFIG']) expect(await allowed(fn, action, TABLE, kinds(kind)), `${fn} ${action} ${kind}`).toBe(fn === 'inventoryApi');
      }
      expect(await allowed(fn, 'dynamodb:BatchWriteItem', TABLE, kinds('CERT#x', 'TOKEN#x')), `${fn} a batch with a token in it`).toBe(fn === 'inventoryApi');
    }
    expect(await allowed('notificationsEvents', 'dynamodb:PutItem', TABLE, kinds('NOTICE#x'))).toBe(true);
  });

  it('Table writes: each function writes its own service\'s kinds of item only (a CT log or a scanned host cannot make it write a request, a key or a CA)', async () => {
    const writes = async (fn: string, ...keys: string[]) => allowed(fn, 'dynamodb:BatchWriteItem', TABLE, { 'dynamodb:LeadingKeys': keys });
    for (const fn of ['ctMonitorPollLogs', 'inventoryScanChunks', 'notificationsEvents', 'siemExportEvents', 'deploymentStep']) {
      for (const kind of ['REQ#x', 'KEY#x', 'CA#x', 'ISSUED#x']) expect(await writes(fn, kind), `${fn} ${kind}`).toBe(false);
    }
    expect(await writes('ctMonitorPollLogs', 'CTLOG#x', 'CTFINDING#x')).toBe(true);
    expect(await writes('ctMonitorPollLogs', 'CTFINDING#x', 'CERT#x'), 'one foreign item in the batch').toBe(false);
    expect(await writes('inventoryScanChunks', 'CERT#x', 'SERIAL#x', 'TBS#x', 'ENDPOINT#x', 'SCAN#x')).toBe(true);
    expect(await writes('siemExportEvents', 'AUDIT', 'AUDITID#x', 'OUTBOX#x')).toBe(true);
    expect(await writes('siemExportEvents', 'CERT#x'), 'the SIEM export writes no certificate').toBe(false);
    // Another service's intents (its recovery acts on them) and locks (renewals and deployments wait on a certificate's).
    for (const fn of ['ctMonitorPollLogs', 'inventoryScanChunks', 'siemExportEvents', 'deploymentStep', 'renewalSweep']) {
      expect(await writes(fn, 'ANNOUNCE#issuance'), `${fn} an issuance intent`).toBe(false);
    }
    expect(await writes('issuanceApi', 'ANNOUNCE#issuance')).toBe(true);
    for (const fn of ['ctMonitorPollLogs', 'inventoryScanChunks', 'siemExportEvents', 'issuanceApi']) expect(await writes(fn, 'LOCK#certificate/x'), `${fn} a certificate's lock`).toBe(false);
    for (const fn of ['deploymentStep', 'renewalStep', 'renewalApi']) expect(await writes(fn, 'LOCK#certificate/x'), fn).toBe(true);
    expect(await writes('renewalSweep', 'KEY#x'), 'the sweep writes no key').toBe(false);
    for (const fn of ['issuanceApi', 'renewalStep']) expect(await writes(fn, 'REQ#x', 'ISSUED#x', 'CERT#x', 'KEY#x'), fn).toBe(true);
    expect(await writes('issuanceApi', 'AUDIT'), 'the issuance API writes no audit record').toBe(false);
    // A write with no partition key named is no write IAM would let through (Null).
    expect(await allowed('issuanceApi', 'dynamodb:PutItem', TABLE, {})).toBe(false);
  });

  it('SNS and SES: notifications publish to the topics and send as the identities the parameters name, nothing else', async () => {
    for (const fn of ['notificationsEvents', 'notificationsDigest']) {
      expect(await allowed(fn, 'sns:Publish', TOPIC), fn).toBe(true);
      expect(await allowed(fn, 'sns:Publish', TOPIC.replace('certops-alerts', 'payroll')), fn).toBe(false);
      expect(await allowed(fn, 'ses:SendEmail', IDENTITY), fn).toBe(true);
      expect(await allowed(fn, 'ses:SendEmail', IDENTITY.replace('example.com', 'other.example')), fn).toBe(false);
    }
    for (const fn of ['health', 'issuanceApi', 'siemExportEvents']) expect(await allowed(fn, 'sns:Publish', TOPIC), fn).toBe(false);
  });
});
