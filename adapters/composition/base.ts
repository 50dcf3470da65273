import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { DEFAULT_RENEWAL_WINDOW, type RenewalWindow } from '../../shared/renewal-window.ts';
import type { Clock } from '../../shared/ports.ts';
import { ValidationError } from '../../shared/errors.ts';
import { openTable, tableClientConfig } from '../dynamodb/table.ts';
import { DynamoConfigStore } from '../dynamodb/config-store.ts';
import { DynamoTokenStore } from '../dynamodb/token-store.ts';
import { DynamoAnnouncementLedger } from '../dynamodb/announcement-ledger.ts';
import { EventBridgePublisher } from '../aws/eventbridge-publisher.ts';
import { CurrentConfiguration } from '../current-configuration.ts';
import { crashPoint } from '../crash-point.ts';

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
  /** How long an issuance waits for an ACME CA to issue before answering pending (the sweep, or the renewal's retries, carry the order on), ms. */
  acmeOrderWaitMs: number;
  /** Whether a tls-alpn-01 validation responder answers for this runtime (the local stack's CERTOPS_ACME_TLS_ALPN_PORT; never on AWS). */
  tlsAlpnResponder: boolean;
  scanConcurrency: number;
  scanTimeoutMs: number;
  scanTotalMs: number;
  /** Endpoints per chunk of a scan: each chunk is one scan worker's unit of work. */
  scanChunkSize: number;
  /** The CA backend requests use when they name none. */
  defaultIssuer: string;
  /** Write CloudWatch embedded metrics to stdout (on AWS). */
  emitMetrics: boolean;
  /** Set on AWS: the KMS key that wraps the vault's data keys. */
  kmsKeyId?: string;
  /** Without a KMS key (locally): the file holding the master key that wraps them. */
  masterKeyFile: string;
  /** Where filesystem targets may write when the configuration names no deployment.allowedRoots (none without a lasting disk). */
  targetsDir: string;
  /**
   * Whether the functions' disk outlives an invocation (false on AWS Lambda, CERTOPS_LASTING_DISK):
   * without one, no file SIEM sink and no filesystem target outside the roots the configuration names.
   */
  lastingDisk: boolean;
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

/** A plain decimal: what Number() would also read as hex, an exponent, blanks or Infinity is not one. */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

/**
 * The setting `name` as a decimal within [min, max], the fallback when unset or empty; anything else
 * is refused naming the variable and what it must be (`must`): a value Number() cannot read would
 * be NaN, and a NaN renewal window renews every certificate at every sweep or fails the sweep.
 */
function decimalSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, must: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!DECIMAL.test(raw) || value < min || value > max) throw new ValidationError(`${name} must be ${must} (it is ${JSON.stringify(raw)})`, name);
  return value;
}

/** The renewal window the environment sets (CERTOPS_RENEWAL_WINDOW_DAYS, CERTOPS_RENEWAL_AT_LIFETIME); ValidationError naming the variable for a bad one. */
export function renewalWindowFromEnv(env: NodeJS.ProcessEnv): RenewalWindow {
  return {
    // Ten years bound it: the sweep's horizon (now plus the window) stays a time a Date can hold.
    days: decimalSetting(env, 'CERTOPS_RENEWAL_WINDOW_DAYS', DEFAULT_RENEWAL_WINDOW.days, 0, 3650, 'a number of days from 0 to 3650, such as 30'),
    // 0 is allowed: no share of the lifetime is kept, the window alone decides (what a test that cannot wait days sets).
    atLifetimeFraction: decimalSetting(env, 'CERTOPS_RENEWAL_AT_LIFETIME', DEFAULT_RENEWAL_WINDOW.atLifetimeFraction, 0, 1, 'the share of a certificate\'s lifetime served before renewal, a decimal fraction 0 <= f <= 1, such as 0.667'),
  };
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
    renewalWindow: renewalWindowFromEnv(env),
    verifyAttempts: Number(env.CERTOPS_VERIFY_ATTEMPTS ?? 5),
    verifyDelayMs: Number(env.CERTOPS_VERIFY_DELAY_MS ?? 1000),
    acmeOrderWaitMs: Number(env.CERTOPS_ACME_ORDER_WAIT_MS ?? 15_000),
    tlsAlpnResponder: Boolean(env.CERTOPS_ACME_TLS_ALPN_PORT),
    scanConcurrency: Number(env.CERTOPS_SCAN_CONCURRENCY ?? 64),
    scanTimeoutMs: Number(env.CERTOPS_SCAN_TIMEOUT_MS ?? 3000),
    scanTotalMs: Number(env.CERTOPS_SCAN_TOTAL_MS ?? 600_000),
    scanChunkSize: Number(env.CERTOPS_SCAN_CHUNK_SIZE ?? 256),
    defaultIssuer: env.CERTOPS_DEFAULT_ISSUER ?? 'local',
    kmsKeyId: env.CERTOPS_KMS_KEY_ID,
    masterKeyFile: env.CERTOPS_MASTER_KEY_FILE ?? `${env.CERTOPS_HOME ?? '.certops'}/master.key`,
    targetsDir: env.CERTOPS_TARGETS_DIR ?? `${env.CERTOPS_HOME ?? '.certops'}/targets`,
    lastingDisk: env.CERTOPS_LASTING_DISK !== 'false',
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
 * What every function uses: the table, the configuration in force, the bus, API tokens (every
 * API authenticates), the announcement ledger (every service announces what it changed), the
 * clock and ids. A service's composition (services/<name>/runtime.ts) adds what it alone uses.
 */
export function buildBase(config: RuntimeConfig, clock: Clock, env: () => NodeJS.ProcessEnv) {
  const table = openTable(config.tableName, tableClientConfig(config.dynamodbEndpoint));
  const configurations = new DynamoConfigStore(table);
  const configuration = new CurrentConfiguration(configurations, dirname(config.configFile), config.siemFile, config.lastingDisk);
  const awsConfig = config.awsEndpoint ? { endpoint: config.awsEndpoint } : {};
  return {
    config,
    env,
    table,
    /** Where the local stack's AWS-protocol endpoint is (unset on AWS: the SDK's own). */
    awsConfig,
    configurations,
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
    clock,
    newId: () => randomUUID(),
    random: Math.random,
    tokens: new DynamoTokenStore(table),
    announcements: new DynamoAnnouncementLedger(table),
    publisher: new EventBridgePublisher(config.busName, awsConfig),
    ownersGoneBefore: config.ownersGoneBefore,
    crashPoint,
  };
}

export type Base = ReturnType<typeof buildBase>;

/**
 * Where filesystem targets (and ACME webroots, which are such targets) may write: the
 * configuration's deployment.allowedRoots, else the targets folder, and none without a lasting
 * disk (AWS Lambda: only a mounted file system the configuration names).
 */
export function allowedRoots(b: Base): string[] {
  return b.suite.deploymentRoots ?? (b.config.lastingDisk ? [resolve(b.config.targetsDir)] : []);
}

let shared: Base | undefined;

/** The process-wide base, built from the environment on first use (Lambda keeps it across invocations). */
export function base(): Base {
  return (shared ??= buildBase(configFromEnv(process.env), systemClock, () => process.env));
}

/**
 * One object with the properties of both, getters kept as getters (the configuration's stay live);
 * `extra` wins where both name a property.
 */
export function compose<A extends object, B extends object>(first: A, extra: B): Omit<A, keyof B> & B {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(first), ...Object.getOwnPropertyDescriptors(extra) }) as Omit<A, keyof B> & B;
}

/** A composition built once per process, on first use. */
export function once<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
