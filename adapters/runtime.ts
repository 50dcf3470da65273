import { randomBytes, randomUUID } from 'node:crypto';
import { canonicalJson } from '../shared/canonical-json.ts';
import { DynamoCertificateStore } from './dynamodb/certificate-store.ts';
import { DynamoCtStateStore } from './dynamodb/ct-state-store.ts';
import { DynamoDeadLetterStore } from './dynamodb/dead-letter-store.ts';
import { DynamoLockStore } from './dynamodb/lock-store.ts';
import { DynamoRequestLeases, DynamoRequestStore } from './dynamodb/request-store.ts';
import { DynamoTargetStore } from './dynamodb/target-store.ts';
import { DynamoTokenStore } from './dynamodb/token-store.ts';
import { DynamoConfigStore } from './dynamodb/config-store.ts';
import { openTable, tableClientConfig } from './dynamodb/table.ts';
import { EventBridgePublisher } from './aws/eventbridge-publisher.ts';
import { recordingCalls } from './aws/call-recorder.ts';
import { StepFunctionsSagaStarter } from './aws/step-functions-saga-starter.ts';
import { MasterKeyDataKeys } from './local/master-key-data-keys.ts';
import { SealedKeyVault } from './vault/sealed-key-vault.ts';
import { BuiltInCa } from './built-in-ca.ts';
import { ValidationError } from '../shared/errors.ts';
import { crashPoint } from './crash-point.ts';
import { DEFAULT_RENEWAL_WINDOW, type RenewalWindow } from '../shared/renewal-window.ts';
import { certificateKeysOnly } from '../shared/certificate-key-vault.ts';
import { policyGated } from '../shared/policy-gated-authority.ts';
import type { CertificateAuthority, Clock, DeploymentTarget, KeyVault, TargetStore } from '../shared/ports.ts';
import { WebhookTarget } from './targets/webhook-target.ts';
import { AcmTarget } from './targets/acm-target.ts';
import { SecretsManagerTarget } from './targets/secrets-manager-target.ts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Target } from '../shared/model.ts';
import { FilesystemTarget } from './targets/filesystem-target.ts';
import { CurrentConfiguration } from './current-configuration.ts';
import { DynamoConfigChangeStore } from './dynamodb/config-change-store.ts';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SinkConfig } from '../shared/siem-config.ts';
import { resolveSecret } from './secrets.ts';
import { DynamoAnnouncementLedger } from './dynamodb/announcement-ledger.ts';
import { DynamoAuditTrail } from './dynamodb/audit-trail.ts';
import { DynamoSiemOutbox } from './dynamodb/siem-outbox.ts';
import { HttpSink, type SendResult } from './siem/http-sink.ts';
import { SyslogSink } from './siem/syslog-sink.ts';
import { NdjsonFileSink } from './siem/ndjson-file-sink.ts';
import { DynamoScanStore } from './dynamodb/scan-store.ts';
import { AcmPcaAuthority } from './aws/acm-pca-authority.ts';
import { AcmPublicAuthority } from './aws/acm-public-authority.ts';
import { ACMPCAClient } from '@aws-sdk/client-acm-pca';
import { KmsDataKeys } from './aws/kms-data-keys.ts';
import { DynamoAuthorityStore } from './dynamodb/authority-store.ts';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoRevocationStore } from './dynamodb/revocation-store.ts';
import { DynamoIssuanceJournal } from './dynamodb/issuance-journal.ts';
import { ACMClient } from '@aws-sdk/client-acm';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetterQueues } from './aws/sqs-dead-letter-queues.ts';
import { probeTls } from './tls/tls-probe.ts';
import { DEFAULT_FETCH_BOUNDS, httpRevocationFetcher } from './revocation/http-revocation-fetcher.ts';
import { bundledRoots } from '../shared/x509/verify-pem-chain.ts';
import { parseCertificate, type ParsedCertificate } from '../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';

/** The settings an entry point reads from its environment; everything else receives them built. */
export interface RuntimeConfig {
  stage: string;
  tableName: string;
  busName: string;
  stateMachineArn: string;
  home: string;
  baseUrl: string;
  siemFile: string;
  /** Days before expiry a renewal window opens (see renewalWindowOpens). */
  renewalWindow: RenewalWindow;
  verifyAttempts: number;
  verifyDelayMs: number;
  scanConcurrency: number;
  scanTimeoutMs: number;
  scanTotalMs: number;
  /** The CA backend requests use when they name none. */
  defaultIssuer: string;
  /** Write CloudWatch embedded metrics to stdout (on AWS). */
  emitMetrics: boolean;
  /** Set on AWS: the KMS key that wraps the vault's data keys. */
  kmsKeyId?: string;
  /** Without a KMS key (locally): the file holding the master key that wraps them. */
  masterKeyFile: string;
  /** Where filesystem targets may write when the configuration names no deployment.allowedRoots. */
  targetsDir: string;
  /** The local configuration file (CERTOPS_CONFIG, else config.yaml in the home folder): the local stack imports it at start; files it names are read from its folder. */
  configFile: string;
  /** Set locally: the embedded DynamoDB (`unix:<socket>`) and the local server that speaks the EventBridge and Step Functions APIs. */
  dynamodbEndpoint?: string;
  /** Claims made before this moment belong to a process that is gone (the local stack serves a state folder alone, so at its start every earlier holder is dead); unset on AWS, where only leases tell. */
  ownersGoneBefore?: Date;
  awsEndpoint?: string;
  /** The functions that consume events through a queue of their own (CERTOPS_CONSUMERS, set by deploy/consumer-queues.js). */
  consumers: string[];
}

export function configFromEnv(env: NodeJS.ProcessEnv): RuntimeConfig {
  const stage = env.CERTOPS_STAGE ?? 'local';
  return {
    stage,
    tableName: env.CERTOPS_TABLE ?? `certops-${stage}`,
    busName: env.CERTOPS_BUS ?? `certops-${stage}`,
    stateMachineArn: env.CERTOPS_STATE_MACHINE_ARN ?? `arn:aws:states:local:000000000000:stateMachine:certops-${stage}-renewal`,
    home: env.CERTOPS_HOME ?? '.certops',
    // The configured public URL, else the deployed API's (AWS), else the local server's default.
    baseUrl: (env.CERTOPS_BASE_URL || env.CERTOPS_API_URL || 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    siemFile: env.CERTOPS_SIEM_FILE ?? `${env.CERTOPS_HOME ?? '.certops'}/siem/events.ndjson`,
    renewalWindow: {
      days: Number(env.CERTOPS_RENEWAL_WINDOW_DAYS ?? DEFAULT_RENEWAL_WINDOW.days),
      atLifetimeFraction: Number(env.CERTOPS_RENEWAL_AT_LIFETIME ?? DEFAULT_RENEWAL_WINDOW.atLifetimeFraction),
    },
    verifyAttempts: Number(env.CERTOPS_VERIFY_ATTEMPTS ?? 5),
    verifyDelayMs: Number(env.CERTOPS_VERIFY_DELAY_MS ?? 1000),
    scanConcurrency: Number(env.CERTOPS_SCAN_CONCURRENCY ?? 64),
    scanTimeoutMs: Number(env.CERTOPS_SCAN_TIMEOUT_MS ?? 3000),
    scanTotalMs: Number(env.CERTOPS_SCAN_TOTAL_MS ?? 600_000),
    defaultIssuer: env.CERTOPS_DEFAULT_ISSUER ?? 'local',
    kmsKeyId: env.CERTOPS_KMS_KEY_ID,
    masterKeyFile: env.CERTOPS_MASTER_KEY_FILE ?? `${env.CERTOPS_HOME ?? '.certops'}/master.key`,
    targetsDir: env.CERTOPS_TARGETS_DIR ?? `${env.CERTOPS_HOME ?? '.certops'}/targets`,
    emitMetrics: env.CERTOPS_EMIT_METRICS === 'true',
    configFile: env.CERTOPS_CONFIG ?? `${env.CERTOPS_HOME ?? '.certops'}/config.yaml`,
    dynamodbEndpoint: env.CERTOPS_DYNAMODB_ENDPOINT,
    ownersGoneBefore: env.CERTOPS_OWNERS_GONE_BEFORE ? new Date(env.CERTOPS_OWNERS_GONE_BEFORE) : undefined,
    awsEndpoint: env.CERTOPS_AWS_ENDPOINT,
    consumers: (env.CERTOPS_CONSUMERS ?? '').split(',').filter(Boolean),
  };
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The adapter for a registered target; its secrets come from the environment, never from the
 * table. A filesystem target writes only inside `roots`, and runs a reload command only if an
 * admin registered it.
 */
function deploymentTarget(target: Target, environment: NodeJS.ProcessEnv, targets: TargetStore, roots: string[]): DeploymentTarget {
  switch (target.type) {
    case 'filesystem':
      if (target.reloadCommand && target.registeredByRole !== 'admin') throw new ValidationError(`target ${target.name} has a reload command no admin registered; register it again as an admin`, 'reloadCommand');
      return new FilesystemTarget(String(target.directory), roots, target.reloadCommand);
    case 'webhook': {
      const secret = environment[String(target.secretEnv)];
      if (!secret) throw new ValidationError(`the webhook secret ${target.secretEnv} is not set in the environment`, 'secretEnv');
      return new WebhookTarget({ url: String(target.url), secret, caCertificatePem: target.caCertificatePem as string | undefined });
    }
    case 'acm':
      return new AcmTarget(recordingCalls(new ACMClient({ region: String(target.region) }), 'acm'), target.certificateArn as string | undefined, (arn) => targets.put({ ...target, certificateArn: arn }));
    case 'secretsmanager':
      return new SecretsManagerTarget(recordingCalls(new SecretsManagerClient({ region: String(target.region) }), 'secretsmanager'), String(target.secretId));
  }
}

/** A sender for a SIEM sink; its secrets (HEC token, syslog client key) come from the environment or Secrets Manager; files it names are read from `base` (the configuration's folder). */
async function siemSender(sink: SinkConfig, environment: NodeJS.ProcessEnv, base: string): Promise<(records: string[]) => Promise<SendResult>> {
  const file = (path: string | undefined) => (path ? readFileSync(resolve(base, path), 'utf8') : undefined);
  const secret = (ref: string | undefined) => (ref ? resolveSecret(ref, `siem.sinks.${sink.name}`, environment, () => recordingCalls(new SecretsManagerClient({}), 'secretsmanager')) : Promise.resolve(undefined));
  if (sink.type === 'http') {
    const http = new HttpSink({ url: sink.url!, protocol: sink.protocol ?? 'json', token: await secret(sink.tokenEnv), index: sink.index, gzip: sink.gzip ?? true, caPem: file(sink.caFile), timeoutMs: 10_000 });
    return (r) => http.send(r);
  }
  if (sink.type === 'syslog') {
    const syslog = new SyslogSink({ host: sink.host!, port: sink.port!, tls: sink.tls ?? false, caPem: file(sink.caFile), certPem: file(sink.clientCertFile), keyPem: await secret(sink.clientKeyEnv), timeoutMs: 10_000 });
    return (r) => syslog.send(r);
  }
  const ndjson = new NdjsonFileSink(sink.path!, sink.maxBytes);
  return (r) => ndjson.send(r);
}

/** Every adapter a service may need, built once per process and shared by its handlers. */
export function buildRuntime(config: RuntimeConfig, clock: Clock = systemClock, env: () => NodeJS.ProcessEnv = () => process.env) {
  const table = openTable(config.tableName, tableClientConfig(config.dynamodbEndpoint));
  const awsConfig = config.awsEndpoint ? { endpoint: config.awsEndpoint } : {};
  let vault: Promise<KeyVault> | undefined;
  let ca: Promise<CertificateAuthority> | undefined;
  // Keys are sealed in the table under data keys that KMS wraps on AWS, a master key file locally.
  // Only the CA sees the whole vault: everything else gets certificates' keys only.
  const wholeVault = () => (vault ??= (config.kmsKeyId ? Promise.resolve(new KmsDataKeys(recordingCalls(new KMSClient({}), 'kms'), config.kmsKeyId)) : MasterKeyDataKeys.open(config.masterKeyFile)).then((keys) => new SealedKeyVault(table, keys)));
  const keyVault = () => wholeVault().then(certificateKeysOnly);
  const revocations = new DynamoRevocationStore(table);
  const journal = new DynamoIssuanceJournal(table);
  const targets = new DynamoTargetStore(table);
  const requests = new DynamoRequestStore(table);
  const requestLeases = new DynamoRequestLeases(table, clock, config.ownersGoneBefore);
  const authorities = new DynamoAuthorityStore(table);
  const configurations = new DynamoConfigStore(table);
  const configuration = new CurrentConfiguration(configurations, dirname(config.configFile), config.siemFile);
  const gated = (backend: CertificateAuthority) => policyGated(backend, () => ({ policy: configuration.suite.policy, ownership: configuration.suite.ownership }), requests);
  const remotes = new Map<string, CertificateAuthority>();
  /** The CA backend of that name (the built-in one, or one configured under `issuers`), behind the policy gate. */
  const authority = async (name = 'local'): Promise<CertificateAuthority> => {
    if (name === 'local') return (ca ??= wholeVault().then(async (vault) => gated(await BuiltInCa.open({ authorities, vault, baseUrl: config.baseUrl, clock, revocations, journal }))));
    const { issuers } = configuration.suite;
    const backend = Object.hasOwn(issuers, name) ? issuers[name] : undefined;
    if (!backend) throw new ValidationError(`issuer ${JSON.stringify(name)} is not a configured CA backend (configured: ${['local', ...Object.keys(issuers)].join(', ')})`, 'issuer');
    // Keyed by what the configuration says of it: a backend changed by a configuration change is built anew.
    const cacheKey = canonicalJson({ name, backend });
    let remote = remotes.get(cacheKey);
    if (!remote) {
      remote = gated(backend.type === 'acm'
        ? new AcmPublicAuthority(name, recordingCalls(new ACMClient({ region: backend.region }), 'acm'))
        : new AcmPcaAuthority(name, recordingCalls(new ACMPCAClient({ region: backend.region }), 'acm-pca'), { certificateAuthorityArn: backend.certificateAuthorityArn!, signingAlgorithm: backend.signingAlgorithm as never, journal }));
      remotes.set(cacheKey, remote);
    }
    return remote;
  };
  const deploymentRoots = () => configuration.suite.deploymentRoots ?? [resolve(config.targetsDir)];
  const senders = new Map<string, Promise<(records: string[]) => Promise<SendResult>>>();
  return {
    config,
    /** The configuration in force (each invocation refreshes it: see CurrentConfiguration). */
    configuration,
    get suite() {
      return configuration.suite;
    },
    get ownership() {
      return configuration.suite.ownership;
    },
    get policy() {
      return configuration.suite.policy;
    },
    get tokenLifetime() {
      return configuration.suite.tokenLifetime;
    },
    get scanLimits() {
      return configuration.suite.scanLimits;
    },
    clock,
    newId: () => randomUUID(),
    certificates: new DynamoCertificateStore(table),
    requests,
    requestLeases,
    tokens: new DynamoTokenStore(table),
    configurations,
    configChanges: new DynamoConfigChangeStore(table),
    targets,
    locks: new DynamoLockStore(table, clock, config.ownersGoneBefore),
    deadLetters: new DynamoDeadLetterStore(table),
    deadLetterQueues: new SqsDeadLetterQueues(recordingCalls(new SQSClient(awsConfig), 'sqs'), `certops-${config.stage}-`, config.consumers),
    ct: new DynamoCtStateStore(table),
    revocations,
    scans: new DynamoScanStore(table),
    audit: new DynamoAuditTrail(table),
    announcements: new DynamoAnnouncementLedger(table),
    outbox: new DynamoSiemOutbox(table, () => configuration.suite.siemSinks.map((s) => s.name)),
    get sinks() {
      return configuration.suite.siemSinks;
    },
    random: Math.random,
    /** Sends to a SIEM sink, its secrets read from the environment when the sender is first built. */
    send: async (sink: SinkConfig, records: string[]) => {
      const key = canonicalJson(sink);
      let sender = senders.get(key);
      if (!sender) {
        sender = siemSender(sink, env(), dirname(config.configFile));
        senders.set(key, sender);
        sender.catch(() => senders.delete(key));
      }
      return (await sender)(records);
    },
    scanner: probeTls,
    /** Scans ask each served certificate's OCSP responder or CRL, bounded by the scan's connection timeout. */
    revocationFetcher: httpRevocationFetcher({ ...DEFAULT_FETCH_BOUNDS, timeoutMs: config.scanTimeoutMs }),
    ocspNonce: () => randomBytes(16),
    publisher: new EventBridgePublisher(config.busName, awsConfig),
    saga: new StepFunctionsSagaStarter(config.stateMachineArn, awsConfig),
    keyVault,
    targetAdapter: (target: Target): DeploymentTarget => deploymentTarget(target, env(), targets, deploymentRoots()),
    get deploymentRoots() {
      return deploymentRoots();
    },
    verifyAttempts: config.verifyAttempts,
    verifyDelayMs: config.verifyDelayMs,
    /** ACM of one region (the local stack points it at nothing real: ACM syncs only run on AWS or in tests). */
    acm: (region: string) => recordingCalls(new ACMClient({ region }), 'acm'),
    /** Roots a scan trusts: Node's bundled ones and the built-in CA's (read from the table: a scan needs no CA key). */
    trustedRoots: async (): Promise<ParsedCertificate[]> => {
      const builtIn = await authorities.get('local');
      const own = builtIn ? certificateBlocks(builtIn.rootPem, 'built-in root') : [];
      const { trustedRootsPem } = configuration.suite;
      const configured = trustedRootsPem ? certificateBlocks(trustedRootsPem, 'inventory.trustedRootsFile') : [];
      return [...bundledRoots(), ...[...own, ...configured].map((der) => parseCertificate(der, 'trusted root'))];
    },
    /** The CA backend named `name`, behind the policy gate. */
    authority,
    ownersGoneBefore: config.ownersGoneBefore,
    crashPoint,
  };
}

export type Runtime = ReturnType<typeof buildRuntime>;

let shared: Runtime | undefined;

/** The process-wide runtime, built from the entry point's environment on first use (Lambda keeps it across invocations). */
export function runtime(env: NodeJS.ProcessEnv): Runtime {
  return (shared ??= buildRuntime(configFromEnv(env), systemClock, () => env));
}
