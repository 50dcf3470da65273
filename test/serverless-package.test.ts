import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinition, readServerlessYml } from '../local/serverless-definition.ts';
import { parseSuiteConfig } from '../adapters/suite-config.ts';
import { CurrentConfiguration } from '../adapters/current-configuration.ts';
import type { ConfigRecord, ConfigStore } from '../shared/ports.ts';
import { parseTarget } from '../services/deployment/target-input.ts';
import { configFromEnv } from '../adapters/composition/base.ts';
import { ROOT } from './support/processes.ts';
import { INBOUND_DETAIL_TYPES } from '../shared/events/catalog.ts';
import { DASHBOARD_FILES } from '../services/dashboard/files.ts';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string };

/** `serverless package` runs offline (osls), and the CloudFormation it writes is the deployment we promise. */
describe('serverless package', () => {
  const out = mkdtempSync(join(tmpdir(), 'certops-sls-'));
  let resources: Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const config = readServerlessYml(ROOT);
  const patterns = JSON.parse(readFileSync(join(ROOT, 'events/patterns.json'), 'utf8')) as Record<string, { pattern: unknown }>;
  const definition = loadDefinition(ROOT);

  beforeAll(() => {
    execFileSync(join(ROOT, 'node_modules/.bin/osls'), ['package', '--stage', 'prod', '--package', out], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
    resources = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('has a Lambda function per handler, on nodejs22.x', () => {
    const functions = ofType('AWS::Lambda::Function').map(([, r]) => r.Properties);
    expect(functions).toHaveLength(Object.keys(config.functions).length);
    for (const [name, spec] of Object.entries<any>(config.functions)) {
      const fn = functions.find((f) => f.FunctionName === `certops-prod-${name}`);
      expect(fn, name).toBeDefined();
      expect(fn!.Handler).toBe(spec.handler);
      expect(fn!.Runtime).toBe('nodejs22.x');
    }
  });

  it('creates the custom bus and one rule per pattern in events/, each with retries and a dead-letter queue', () => {
    expect(ofType('AWS::Events::EventBus').map(([, r]) => r.Properties.Name)).toEqual(['certops-prod']);
    const patternRules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties).filter((p) => p.EventPattern);
    expect(patternRules).toHaveLength(Object.keys(patterns).length);
    for (const [name, { pattern }] of Object.entries(patterns)) {
      const rule = patternRules.find((p) => JSON.stringify(p.EventPattern) === JSON.stringify(pattern));
      expect(rule, name).toBeDefined();
      expect(rule!.EventBusName).toEqual({ 'Fn::GetAtt': ['CertopsBus', 'Name'] });
      for (const target of rule!.Targets) {
        expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
        expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] });
      }
    }
    expect(ofType('AWS::SQS::Queue').map(([k]) => k)).toContain('EventsDeadLetterQueue');
  });

  it('feeds every consumer from a queue of its own: batches with partial batch responses, a visibility timeout six times the function\'s, a dead-letter queue after 5 receives, alarmed', () => {
    const consumers = Object.entries<any>(config.functions).filter(([, spec]) => spec.consumes);
    expect(consumers.map(([name]) => name).sort()).toEqual([...new Set(definition.rules.map((r) => r.fn))].sort());
    const logical = (name: string) => name[0].toUpperCase() + name.slice(1);
    const arnOf = (id: string) => JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] });
    for (const [name, spec] of consumers) {
      const queue = resources[`${logical(name)}Queue`];
      const dlq = resources[`${logical(name)}DeadLetterQueue`];
      expect(queue.Properties.QueueName, name).toBe(`certops-prod-${name}`);
      expect(dlq.Properties.QueueName, name).toBe(`certops-prod-${name}-dlq`);
      expect(queue.Properties.VisibilityTimeout, name).toBe(6 * (spec.timeout ?? config.provider.timeout));
      expect(queue.Properties.RedrivePolicy, name).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [`${logical(name)}DeadLetterQueue`, 'Arn'] }, maxReceiveCount: 5 });
      const [rule] = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Targets?.some((t: any) => JSON.stringify(t.Arn) === arnOf(`${logical(name)}Queue`)));
      expect(rule, name).toBeDefined();
      expect(JSON.stringify(rule[1].Properties.EventPattern)).toBe(JSON.stringify(definition.rules.find((r) => r.fn === name)!.pattern));
      const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: `${logical(name)}Queue` }]));
      expect(policy?.[1].Properties.PolicyDocument.Statement).toEqual([expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule[0], 'Arn'] } } } })]);
      const [, mapping] = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => JSON.stringify(m.Properties.EventSourceArn) === arnOf(`${logical(name)}Queue`))!;
      expect(mapping.Properties.FunctionResponseTypes, name).toEqual(['ReportBatchItemFailures']);
      expect(mapping.Properties.BatchSize, name).toBe(spec.consumes.batchSize ?? 10);
      // Lambda takes more than 10 messages a batch from a standard queue only with a batching window.
      if (mapping.Properties.BatchSize > 10) expect(mapping.Properties.MaximumBatchingWindowInSeconds, name).toBeGreaterThanOrEqual(1);
      expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [`${logical(name)}LambdaFunction`, 'Arn'] });
      const alarm = ofType('AWS::CloudWatch::Alarm').find(([, a]) => JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [`${logical(name)}DeadLetterQueue`, 'QueueName'] } }]));
      expect(alarm?.[1].Properties.AlarmActions, name).toEqual([{ Ref: 'CertopsAlarmTopic' }]);
    }
    // The audit trail's writers: two at most, each appending batches of up to 1,000 in one commit.
    expect(config.functions.siemExportEvents.consumes).toMatchObject({ batchSize: 1000, maximumConcurrency: 2, wholeBatch: true });
    // Nothing reaches a function straight from a rule: a consumer that throws would lose the event after Lambda's two retries.
    const lambdaTargets = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern).flatMap(([, r]) => r.Properties.Targets).filter((t: any) => JSON.stringify(t.Arn).includes('LambdaFunction'));
    expect(lambdaTargets).toEqual([]);
    expect(ofType('AWS::SQS::Queue').every(([, q]) => q.Properties.SqsManagedSseEnabled)).toBe(true);
  });

  /** Each function's role and the name the template gives it (the framework's per-function roles: certops-<stage>-<function>-<region>-lambdaRole). */
  const functionRoles = () => ofType('AWS::Lambda::Function').map(([, f]) => {
    const [logical] = f.Properties.Role['Fn::GetAtt'];
    return { fn: String(f.Properties.FunctionName), logical, role: resources[logical] };
  });
  const roleName = (role: Resource) => (role.Properties.RoleName['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<region>')).join('-');
  const ROLE_PATTERN = JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/certops-prod-*']] });

  it('gives every function a role of its own, named so the bus and vault key policies know it', () => {
    const roles = functionRoles();
    expect(new Set(roles.map((r) => r.logical)).size).toBe(roles.length);
    for (const r of roles) expect(roleName(r.role), r.fn).toMatch(/^certops-prod-/);
    // No role beside them: the framework's shared one (rights on every consumer's queue) is not left unused in the account.
    expect(ofType('AWS::IAM::Role').map(([id]) => id).filter((id) => id.endsWith('IamRoleLambdaExecution')).sort()).toEqual(roles.map((r) => r.logical).sort());
  });

  it('lets only the functions\' roles put certops.* sources or any detail-type but the inbound ones on the bus, each function only its own service\'s source', () => {
    const statements = ofType('AWS::Events::EventBusPolicy').map(([, r]) => r.Properties);
    expect(statements.every((p) => JSON.stringify(p.EventBusName) === JSON.stringify({ Ref: 'CertopsBus' }))).toBe(true);
    const deny = (condition: string) => statements.map((p) => p.Statement).find((s) => s.Effect === 'Deny' && s.Principal === '*' && s.Action === 'events:PutEvents' && JSON.stringify(s.Condition).includes(condition));
    const sources = deny('events:source');
    expect(sources?.Condition['ForAnyValue:StringLike']).toEqual({ 'events:source': 'certops.*' });
    expect(JSON.stringify(sources?.Condition.ArnNotLike['aws:PrincipalArn'])).toBe(ROLE_PATTERN);
    const detailTypes = deny('events:detail-type');
    expect(detailTypes?.Condition['ForAnyValue:StringNotEquals']).toEqual({ 'events:detail-type': [...INBOUND_DETAIL_TYPES] });
    expect(JSON.stringify(detailTypes?.Condition.ArnNotLike['aws:PrincipalArn'])).toBe(ROLE_PATTERN);
    for (const { fn, role } of functionRoles()) {
      const service = fn.replace('certops-prod-', '').replace(/(Api|Events|Scans|ScanChunks|ScheduledScans|AcmSync|Recover|ExpirePending|Step|Sweep|Approvals|Poll|PollLogs|Flush|Acme)$/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      const puts = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement).filter((s: any) => [s.Action].flat().includes('events:PutEvents'));
      for (const put of puts) expect(put.Condition['ForAllValues:StringEquals']['events:source'], fn).toContain(`certops.${service}`);
    }
  });

  it('lets only the functions\' roles seal and open with the vault key; the account administers it without using it', () => {
    const [[, key]] = ofType('AWS::KMS::Key');
    const statements: any[] = key.Properties.KeyPolicy.Statement;
    const granting = (action: string) => statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().some((a: string) => a === 'kms:*' || a === action));
    for (const use of ['kms:Decrypt', 'kms:GenerateDataKey']) {
      const grants = granting(use);
      expect(grants, use).toHaveLength(1);
      expect(JSON.stringify(grants[0].Condition.ArnLike['aws:PrincipalArn'])).toBe(ROLE_PATTERN);
    }
    expect(statements.some((s) => [s.Action].flat().includes('kms:*'))).toBe(false);
  });

  it('reaches secrets, Private CA, the vault key and ACM imports only from the functions that use them', () => {
    const reaching = (prefix: string) => functionRoles().filter(({ role }) => role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement).some((s: any) => [s.Action].flat().some((a: string) => a.startsWith(prefix)))).map(({ fn }) => fn.replace('certops-prod-', '')).sort();
    // The issuing functions read an ACME issuer's External Account Binding key.
    expect(reaching('secretsmanager:')).toEqual(['deploymentApi', 'deploymentEvents', 'deploymentStep', 'issuanceAcme', 'issuanceApi', 'issuanceEvents', 'issuanceExpirePending', 'issuanceRecover', 'notificationsDigest', 'notificationsEvents', 'renewalStep', 'siemExportApi', 'siemExportEvents', 'siemExportFlush']);
    // Deployed private keys and credentials under prefixes of their own, and credentials in a folder per reader: no function reaches two.
    const secretResources = (fn: string) => functionRoles().filter((r) => r.fn === `certops-prod-${fn}`).flatMap(({ role }) => role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement))
      .filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('secretsmanager:'))).map((st: any) => JSON.stringify(st.Resource));
    const folder = (fn: string) => (fn.startsWith('deployment') ? '/targets/*' : fn.startsWith('siemExport') ? '/credentials/siem/*' : fn.startsWith('notifications') ? '/credentials/notifications/*' : '/credentials/issuers/*');
    for (const fn of reaching('secretsmanager:')) {
      const kinds = new Set(secretResources(fn).map((r) => ['/targets/*', '/credentials/siem/*', '/credentials/notifications/*', '/credentials/issuers/*'].find((f) => r.includes(f)) ?? r));
      expect([...kinds], fn).toEqual([folder(fn)]);
    }
    // Private CA signs end-entity certificates only, for every function that may ask it to sign.
    const issuing = functionRoles().flatMap(({ role }) => role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement)).filter((st: any) => [st.Action].flat().includes('acm-pca:IssueCertificate'));
    expect(issuing.length).toBeGreaterThan(0);
    for (const st of issuing) expect(st.Condition?.StringEquals?.['acm-pca:TemplateArn']).toEqual(['arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1', 'arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1']);
    expect(reaching('acm-pca:')).toEqual(['issuanceAcme', 'issuanceApi', 'issuanceEvents', 'issuanceExpirePending', 'issuanceRecover', 'renewalStep']);
    expect(reaching('acm:ImportCertificate')).toEqual(['deploymentApi', 'deploymentEvents', 'deploymentStep']);
    expect(reaching('kms:')).toEqual(['deploymentApi', 'deploymentEvents', 'deploymentStep', 'issuanceAcme', 'issuanceApi', 'issuanceEvents', 'issuanceExpirePending', 'issuanceRecover', 'renewalStep']);
  });

  it('creates the table with the key schema and indexes the local stack uses', () => {
    const table = JSON.parse(readFileSync(join(ROOT, 'adapters/dynamodb/table.json'), 'utf8'));
    const [[, resource]] = ofType('AWS::DynamoDB::Table');
    expect(resource.Properties.KeySchema).toEqual(table.KeySchema);
    expect(resource.Properties.GlobalSecondaryIndexes.map((i: any) => i.IndexName)).toEqual(table.GlobalSecondaryIndexes.map((i: any) => i.IndexName));
    expect(resource.Properties.GlobalSecondaryIndexes.map((i: any) => i.IndexName)).toEqual(expect.arrayContaining(['gsi1', 'expiry', 'byEnvironment', 'byOwner', 'byStatus', 'byIssuer']));
  });

  it('keeps the table and the vault key when the stack is removed or they would be replaced; the table has point-in-time recovery, deletion protection and a time to live', () => {
    for (const name of ['CertopsTable', 'CertopsVaultKey']) expect(resources[name], name).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(resources.CertopsTable.Properties).toMatchObject({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } });
  });

  it('creates the renewal state machine from the ASL file, its tasks bound to the step functions', () => {
    const [[, machine]] = ofType('AWS::StepFunctions::StateMachine');
    const [template, bindings] = machine.Properties.DefinitionString['Fn::Sub'];
    const asl = JSON.parse(template);
    expect(Object.keys(asl.States)).toEqual(Object.keys(definition.stateMachine.definition.States as object));
    const bound = Object.values<any>(bindings).map((b) => b['Fn::GetAtt']?.[0]);
    expect(new Set(bound)).toEqual(new Set(['RenewalStepLambdaFunction', 'DeploymentStepLambdaFunction']));
  });

  it('schedules the renewal sweep, the CT poll and the inventory scan, as the local scheduler does', () => {
    const schedules = ofType('AWS::Events::Rule').map(([, r]) => r.Properties).filter((p) => p.ScheduleExpression);
    const targets = schedules.map((s) => s.Targets[0].Arn['Fn::GetAtt'][0].replace(/LambdaFunction$/, ''));
    expect(targets.sort()).toEqual(definition.schedules.map((s) => s.fn.charAt(0).toUpperCase() + s.fn.slice(1)).sort());
    expect(targets).toEqual(expect.arrayContaining(['CtMonitorPoll', 'RenewalSweep', 'InventoryScheduledScans']));
  });

  it('alarms on certificates under 30 days, failed renewals, deployments and saga executions, each function\'s errors, dead letters and throttles, each to one topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    expect([...new Set(alarms.map((a) => a.MetricName))].sort()).toEqual(['ApproximateNumberOfMessagesVisible', 'DaysToExpiry', 'DeploymentFailed', 'Errors', 'ExecutionsFailed', 'RenewalFailed', 'Throttles']);
    expect(alarms.find((a) => a.MetricName === 'DaysToExpiry')).toMatchObject({ Namespace: 'certops', Statistic: 'Minimum', Threshold: 30, ComparisonOperator: 'LessThanThreshold' });
    // What EventBridge could not deliver to a queue, and each consumer's dead-letter queue.
    const queues = alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible').map((a) => a.Dimensions[0].Value['Fn::GetAtt'][0]).sort();
    expect(queues).toEqual(['EventsDeadLetterQueue', ...Object.entries<any>(config.functions).filter(([, f]) => f.consumes).map(([n]) => `${n[0].toUpperCase()}${n.slice(1)}DeadLetterQueue`)].sort());
    const errors = alarms.filter((a) => a.MetricName === 'Errors');
    expect(errors.map((a) => a.Dimensions[0].Value.Ref).sort()).toEqual(ofType('AWS::Lambda::Function').map(([id]) => id).sort());
    expect(errors.every((a) => a.Namespace === 'AWS/Lambda' && a.Threshold === 0)).toBe(true);
    expect(JSON.stringify(alarms.find((a) => a.MetricName === 'ExecutionsFailed')!.Dimensions)).toContain('certops-prod-renewal');
    for (const alarm of alarms) expect(alarm.AlarmActions, alarm.MetricName).toEqual([{ Ref: 'CertopsAlarmTopic' }]);
    expect(resources.CertopsAlarmTopic.Type).toBe('AWS::SNS::Topic');
    // Subscribed only when the alarmEmail parameter names an address.
    expect(resources.CertopsAlarmEmail).toMatchObject({ Type: 'AWS::SNS::Subscription', Condition: 'HasAlarmEmail' });
  });

  it('keeps every function its schedule alone runs from overlapping itself (reserved concurrency 1), and no other', () => {
    const reserved = ofType('AWS::Lambda::Function').map(([, r]) => r.Properties).filter((f) => f.ReservedConcurrentExecutions !== undefined);
    expect(reserved.every((f) => f.ReservedConcurrentExecutions === 1)).toBe(true);
    const scheduledOnly = Object.entries<any>(config.functions).filter(([, spec]) => spec.events?.length && spec.events.every((e: Record<string, unknown>) => 'schedule' in e)).map(([name]) => `certops-prod-${name}`);
    expect(reserved.map((f) => f.FunctionName).sort()).toEqual(scheduledOnly.sort());
    expect(scheduledOnly).toHaveLength(definition.schedules.length);
  });

  it('routes every httpApi route the local server serves', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(definition.routes.map((r) => r.routeKey).sort());
  });

  it('scopes IAM statements to resources: no "*" action, and "*" resources only for calls AWS cannot scope, a first ACM import only with its tag', () => {
    const statements = ofType('AWS::IAM::Role').flatMap(([, r]) => r.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement));
    expect(statements.length).toBeGreaterThan(3);
    // Actions with no resource type (AWS service authorization reference): listing and requesting ACM
    // certificates; a first import is scoped by the tag it must carry instead.
    const unscopable = ['acm:ListCertificates', 'acm:RequestCertificate'];
    for (const s of statements) {
      const actions = [s.Action].flat();
      expect(actions.some((a: string) => a === '*' || a.endsWith(':*'))).toBe(false);
      if (![s.Resource].flat().includes('*')) continue;
      if (actions.every((a: string) => unscopable.includes(a))) continue;
      expect(actions.every((a: string) => ['acm:ImportCertificate', 'acm:AddTagsToCertificate'].includes(a)), actions.join()).toBe(true);
      expect(s.Condition.StringEquals['aws:RequestTag/certops:managed']).toBe('true');
    }
  });

  it('points issued certificates\' CRL and CA issuers URLs at the deployed API, or at the publicBaseUrl parameter', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables.CERTOPS_API_URL).toEqual({ 'Fn::Join': ['', ['https://', { Ref: 'HttpApi' }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }]] });
      expect(fn.Properties.Environment.Variables.CERTOPS_BASE_URL).toBe('');
      // No file sink on Lambda's passing disk.
      expect(fn.Properties.Environment.Variables.CERTOPS_SIEM_FILE).toBe('');
    }
    const api = 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com';
    expect(configFromEnv({ CERTOPS_API_URL: api, CERTOPS_BASE_URL: '' }).baseUrl).toBe(api);
    expect(configFromEnv({ CERTOPS_API_URL: api, CERTOPS_BASE_URL: 'https://pki.example.com/' }).baseUrl).toBe('https://pki.example.com');
  });

  it('keeps nothing on Lambda\'s passing disk: no file SIEM sink, by default or configured, and no filesystem target outside the roots the configuration names', async () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) expect(fn.Properties.Environment.Variables.CERTOPS_LASTING_DISK).toBe('false');
    expect(configFromEnv({ CERTOPS_LASTING_DISK: 'false' }).lastingDisk).toBe(false);
    expect(configFromEnv({}).lastingDisk).toBe(true);
    const fileSink = { siem: { sinks: [{ name: 'archive', type: 'file', path: '/tmp/certops/siem.ndjson' }] } };
    expect(() => parseSuiteConfig(fileSink, (f) => f, '/', '', false)).toThrow(expect.objectContaining({ field: 'siem.sinks.0.type', message: expect.stringMatching(/no disk that outlives an invocation/) }));
    expect(parseSuiteConfig(fileSink, (f) => f, '/', '', true).siemSinks.map((sink) => sink.type)).toEqual(['file']);
    const target = { name: 'web', type: 'filesystem', directory: '/tmp/certops/targets/web' };
    expect(() => parseTarget(target, [])).toThrow(expect.objectContaining({ field: 'directory', message: expect.stringMatching(/deployment\.allowedRoots/) }));
    expect(parseTarget(target, ['/tmp/certops/targets']).type).toBe('filesystem');
    // A version in force from before file sinks were refused there runs without them, rather than stopping every function.
    const inForce = { version: 3, hash: 'h', document: { siem: { sinks: [...fileSink.siem.sinks, { name: 'hec', type: 'http', url: 'https://siem.example.com/' }] } }, changedBy: 'admin', changedAt: '2026-12-01T00:00:00Z', location: 'api' } as unknown as ConfigRecord;
    const store = { latest: async () => inForce } as unknown as ConfigStore;
    const onLambda = new CurrentConfiguration(store, '/', '', false);
    expect((await onLambda.refresh(true)).siemSinks.map((sink) => sink.name)).toEqual(['hec']);
    expect(() => onLambda.check(inForce.document)).toThrow(expect.objectContaining({ field: 'siem.sinks.0.type' }));
  });

  /** The files of a function's zip, by path. */
  const zipped = (fn: string) => {
    const dir = join(out, 'unzipped', fn);
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-qo', join(out, `${fn}.zip`), '-d', dir]);
    return { dir, files: execFileSync('find', ['.', '-type', 'f'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').map((f) => f.slice(2)).sort() };
  };

  it('packages each function on its own: its handler\'s bundle and the chunks it may load, minified, no source maps, under 1 MB', () => {
    for (const [name, spec] of Object.entries<any>(config.functions)) {
      const { files } = zipped(name);
      const entry = `${spec.handler.slice(0, spec.handler.lastIndexOf('.'))}.mjs`;
      expect(files, name).toContain(entry);
      // Beside its bundle, only the files it serves (the dashboard's).
      expect(files.filter((f) => f !== entry && !(spec.assets ?? []).includes(f)).every((f) => f.startsWith('chunks/')), name).toBe(true);
      expect(files.some((f) => f.endsWith('.map')), name).toBe(false);
      expect(statSync(join(out, `${name}.zip`)).size, name).toBeLessThan(1024 * 1024);
    }
  });

  it('puts in a bundle only the AWS clients its service uses, and those a path may never need in chunks loaded when first used', () => {
    // A string each client's protocol code carries (its service's target prefix or signing name).
    const CLIENTS = { 'acm-pca': 'ACMPrivateCA', kms: 'TrentService', acm: 'CertificateManager', sqs: 'AmazonSQS', sfn: 'AWSStepFunctions' };
    const where = (fn: string) => {
      const { dir, files } = zipped(fn);
      const found: Record<string, 'entry' | 'chunk'> = {};
      for (const f of files) for (const [client, marker] of Object.entries(CLIENTS)) if (readFileSync(join(dir, f), 'utf8').includes(marker)) found[client] = f.startsWith('chunks/') ? (found[client] ?? 'chunk') : 'entry';
      return found;
    };
    expect(where('ctMonitorPoll')).toEqual({});
    expect(where('siemExportEvents')).toEqual({});
    expect(where('inventoryApi')).toEqual({ acm: 'chunk', sqs: 'chunk' });
    expect(where('inventoryDeadLetters')).toEqual({ acm: 'chunk', sqs: 'chunk' });
    expect(where('issuanceApi')).toEqual({ 'acm-pca': 'chunk', kms: 'chunk', acm: 'chunk' });
    expect(where('renewalStep')).toEqual({ 'acm-pca': 'chunk', kms: 'chunk', acm: 'chunk', sfn: 'entry' });
    expect(where('deploymentStep')).toEqual({ kms: 'chunk', acm: 'chunk' });
  });

  it('packs the dashboard\'s files into its zip and serves each from there, as Lambda runs it, with no AWS permission', async () => {
    expect([...config.functions.dashboard.assets].sort()).toEqual(Object.values(DASHBOARD_FILES).map((f) => f.path).sort());
    const { dir, files } = zipped('dashboard');
    for (const asset of config.functions.dashboard.assets) expect(files).toContain(asset);
    const mod = await import(pathToFileURL(join(dir, 'services/dashboard/handler.mjs')).href);
    const previous = process.env.LAMBDA_TASK_ROOT;
    process.env.LAMBDA_TASK_ROOT = dir;
    try {
      for (const [file, { path, contentType }] of Object.entries(DASHBOARD_FILES)) {
        const res = await mod.api({ version: '2.0', routeKey: file === '/' ? 'GET /' : 'GET /ui/{file}', rawPath: file === '/' ? '/' : `/ui/${file}`, pathParameters: file === '/' ? undefined : { file }, headers: {}, requestContext: { http: { method: 'GET' } } }, {});
        expect(res, file).toMatchObject({ statusCode: 200, headers: { 'content-type': contentType } });
        expect(res.headers['content-security-policy']).toMatch(/script-src 'self';/);
        expect(Buffer.from(res.body, 'base64').equals(readFileSync(join(dir, path))), file).toBe(true);
      }
      expect((await mod.api({ version: '2.0', routeKey: 'GET /ui/{file}', rawPath: '/ui/x', pathParameters: { file: '../../package.json' }, headers: {}, requestContext: { http: { method: 'GET' } } }, {})).statusCode).toBe(404);
    } finally {
      if (previous === undefined) delete process.env.LAMBDA_TASK_ROOT;
      else process.env.LAMBDA_TASK_ROOT = previous;
    }
    const { role } = functionRoles().find(({ fn }) => fn === 'certops-prod-dashboard')!;
    const actions = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement).flatMap((st: any) => [st.Action].flat());
    expect(actions.every((a: string) => a.startsWith('logs:')), actions.join(', ')).toBe(true);
  });

  it('bundles a handler that loads as Lambda loads it (from its zip) and answers', async () => {
    const { dir } = zipped('inventoryApi');
    const mod = await import(pathToFileURL(join(dir, 'services/inventory/handler.mjs')).href);
    // A route it does not serve is answered before anything is read.
    const res = await mod.api({ version: '2.0', routeKey: 'GET /nowhere', rawPath: '/nowhere', headers: {}, requestContext: { http: { method: 'GET' } } }, {});
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('not_found');
  });

  it('answers GET /health from a function of its own that may call nothing in AWS', async () => {
    const { dir } = zipped('health');
    const mod = await import(pathToFileURL(join(dir, 'services/health/handler.mjs')).href);
    const res = await mod.api({ version: '2.0', routeKey: 'GET /health', rawPath: '/health', headers: {}, requestContext: { http: { method: 'GET' } } }, {});
    expect([res.statusCode, JSON.parse(res.body)]).toEqual([200, { status: 'ok' }]);
    const { role } = functionRoles().find(({ fn }) => fn === 'certops-prod-health')!;
    const actions = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement).flatMap((st: any) => [st.Action].flat());
    expect(actions.every((a: string) => a.startsWith('logs:')), actions.join(', ')).toBe(true);
  });
});

/** The VPC parameters (deploy/function-networks.js): given, the functions that reach private networks run in them; a half-given network is refused. */
describe('serverless package with private networks', () => {
  const out = mkdtempSync(join(tmpdir(), 'certops-sls-vpc-'));
  const params = { scanSubnetIds: 'subnet-a1, subnet-b2', scanSecurityGroupIds: 'sg-0a1', deploymentSubnetIds: 'subnet-c3', deploymentSecurityGroupIds: 'sg-0d2,sg-0e3,sg-0d2' };
  const osls = (args: string[]) => execFileSync(join(ROOT, 'node_modules/.bin/osls'), ['package', '--stage', 'prod', '--package', out, ...args], { cwd: ROOT, stdio: 'pipe', env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' } });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('puts the scan workers and deployment in the subnets and security groups given, with the network-interface policy, and no other function', () => {
    osls(Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]));
    const resources: Record<string, Resource> = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => r.Properties);
    const inVpc = Object.fromEntries(functions.filter((f) => f.VpcConfig).map((f) => [f.FunctionName.replace('certops-prod-', ''), f.VpcConfig]));
    expect(inVpc).toEqual({
      inventoryScanChunks: expect.objectContaining({ SubnetIds: ['subnet-a1', 'subnet-b2'], SecurityGroupIds: ['sg-0a1'] }),
      deploymentApi: expect.objectContaining({ SubnetIds: ['subnet-c3'], SecurityGroupIds: ['sg-0d2', 'sg-0e3'] }),
      deploymentEvents: expect.objectContaining({ SubnetIds: ['subnet-c3'], SecurityGroupIds: ['sg-0d2', 'sg-0e3'] }),
      deploymentStep: expect.objectContaining({ SubnetIds: ['subnet-c3'], SecurityGroupIds: ['sg-0d2', 'sg-0e3'] }),
    });
    const vpcPolicy = (role: Resource) => JSON.stringify(role.Properties.ManagedPolicyArns ?? []).includes('AWSLambdaVPCAccessExecutionRole');
    const roles = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName);
    const withVpcPolicy = roles.filter(vpcPolicy).map((r) => JSON.stringify(r.Properties.RoleName));
    expect(withVpcPolicy).toHaveLength(4);
    for (const fn of Object.keys(inVpc)) expect(withVpcPolicy.some((n) => n.includes(fn)), fn).toBe(true);
  }, 180_000);

  it('refuses subnets without security groups and ids that are none, naming the parameter', async () => {
    const { default: FunctionNetworks } = await import('../deploy/function-networks.js');
    const attach = (scan: { subnetIds: string; securityGroupIds: string }) => () => new FunctionNetworks({
      configSchemaHandler: { defineFunctionProperties: () => undefined },
      classes: { Error },
      service: { custom: { networks: { scan } }, functions: { inventoryScanChunks: { network: 'scan' } } },
    }).attach();
    expect(attach({ subnetIds: 'subnet-a1', securityGroupIds: '' })).toThrow(/custom\.networks\.scan\.securityGroupIds: .*scanSecurityGroupIds/);
    expect(attach({ subnetIds: 'subnet-a1;subnet-b2', securityGroupIds: 'sg-01' })).toThrow(/subnetIds: subnet-a1;subnet-b2 is not a subnet- id \(parameter scanSubnetIds/);
    expect(attach({ subnetIds: 'subnet-a1', securityGroupIds: 'default' })).toThrow(/securityGroupIds: default is not a sg- id/);
    expect(attach({ subnetIds: ' , ', securityGroupIds: ',' })).not.toThrow();
  });
});
