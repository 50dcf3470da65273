import './polyfills.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtime, type Runtime } from '../adapters/runtime.ts';
import { renewalWindowFromEnv } from '../adapters/composition/base.ts';
import { armCrashPoints } from '../adapters/crash-point.ts';
import { openTable, tableClientConfig } from '../adapters/dynamodb/table.ts';
import { DynamoExecutionStore } from '../adapters/dynamodb/execution-store.ts';
import { logger } from '../adapters/logger.ts';
import { ensureAdminToken } from './admin-token.ts';
import { privateHome } from './private-home.ts';
import { importConfigFile } from './import-config-file.ts';
import { importLegacyHome } from './import-legacy-home.ts';
import { SealedKeyVault } from '../adapters/vault/sealed-key-vault.ts';
import { MasterKeyDataKeys } from '../adapters/local/master-key-data-keys.ts';
import { DynamoAuthorityStore } from '../adapters/dynamodb/authority-store.ts';
import { DynamoAcmeChallengeAnswers } from '../adapters/dynamodb/acme-challenge-answers.ts';
import { startTlsAlpnResponder } from '../adapters/acme/tls-alpn-responder.ts';
import { recoverIssuances } from '../services/issuance/recover-issuances.ts';
import { recoverAllAnnouncements } from './recover-announcements.ts';
import { runAsFunction } from '../adapters/aws/call-recorder.ts';
import { deliverThroughQueue } from './queue-delivery.ts';
import { deadLetterQueueOperations } from './local-dead-letter-queues.ts';
import { parseJsonObject, requiredString } from '../shared/input.ts';
import { ForbiddenError } from '../shared/errors.ts';
import { inboundRefusal } from '../shared/events/inbound.ts';
import { awsPrincipal, mayUpload, type AwsPrincipal } from './aws-principal.ts';
import { newSuiteCredentials } from './suite-signature.ts';
import { ensureTable, startDynalite, type EmbeddedTable } from './embedded-dynamodb.ts';
import { DynamoBusLedger } from '../adapters/dynamodb/bus-ledger.ts';
import { eventSchemaValidator } from './event-schemas.ts';
import { LocalFunctions, type FunctionInvoker } from './functions.ts';
import { IsolatedFunctions } from './isolated-functions.ts';
import { LocalBus, type PutEntry } from './local-bus.ts';
import { LocalSagaRunner } from './local-saga-runner.ts';
import { serverPort, startLocalServer } from './local-server.ts';
import { startScheduler } from './scheduler.ts';
import { loadDefinition } from './serverless-definition.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STAGE = 'local';

export interface LocalStack {
  url: string;
  home: string;
  tokenFile: string;
  /** True when this start minted the admin token (the first start, or the one in the file no longer worked). */
  firstStart: boolean;
  /** Where the tls-alpn-01 validation responder listens (host:port), when CERTOPS_ACME_TLS_ALPN_PORT started one. */
  tlsAlpnResponder?: string;
  bus: LocalBus;
  saga: LocalSagaRunner;
  /** The unix socket the CLI uses, when the state folder's path leaves room for one. */
  socket?: string;
  /** The embedded DynamoDB (the benchmarks read what it was asked: CERTOPS_COUNT_TABLE_WRITES). */
  embeddedTable: EmbeddedTable;
  /** Invokes a function of serverless.yml as Lambda would (the benchmarks time the schedule's functions). */
  invoke(fn: string, event: unknown): Promise<unknown>;
  /** Per function since start: invocations and their total duration (milliseconds, what Lambda bills). */
  invocations(): Record<string, { count: number; ms: number }>;
  stop(): Promise<void>;
}

const numberFrom = (value: string | undefined, fallback: number) => (value === undefined || value === '' ? fallback : Number(value));

/**
 * The whole suite in this process: embedded DynamoDB, the bus, the saga runner, the HTTP front
 * door and the scheduler, all driving the same handlers serverless.yml deploys.
 */
/** AWS operations only the suite's own functions call (an outside caller has the HTTP API). */
function suiteOnly(operations: Record<string, (input: Record<string, unknown>) => Promise<unknown>>) {
  return Object.fromEntries(Object.entries(operations).map(([target, operation]) => [target, async (input: Record<string, unknown>, principal: AwsPrincipal) => {
    if (principal.kind !== 'suite') throw new ForbiddenError(`${target} is the suite's own: read dead letters with GET /dead-letters`, 'X-Amz-Target');
    return operation(input);
  }]));
}

export async function startLocalStack(env: NodeJS.ProcessEnv = process.env): Promise<LocalStack> {
  // A bad setting is refused before anything starts, not met by every sweep later.
  renewalWindowFromEnv(env);
  // What Lambda's environment has on AWS. The suite's functions sign local AWS-protocol calls with
  // credentials made for this start: the local endpoint believes certops.* events only from them.
  const credentials = newSuiteCredentials();
  Object.assign(process.env, {
    AWS_REGION: env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    // Lambda runs Node 22; the SDK's notice about Node 20 is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  delete process.env.AWS_SESSION_TOKEN;
  // A fault that escapes a consumer is logged, never the end of the suite: other work goes on.
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { error: (err as Error)?.message, stack: (err as Error)?.stack }));
  const home = await privateHome(resolve(env.CERTOPS_HOME ?? '.certops'));
  const tokenFile = join(home, 'admin.token');
  const tableName = `certops-${STAGE}`;
  const dynamo = await startDynalite(home, join(home, 'dynamodb'), { countWrites: Boolean(env.CERTOPS_COUNT_TABLE_WRITES) });
  await ensureTable(dynamo.endpoint, tableName);

  const definition = loadDefinition(ROOT);
  const functions: FunctionInvoker = env.CERTOPS_ISOLATE_FUNCTIONS === '1' ? new IsolatedFunctions(definition, env.CERTOPS_LOCAL_FAULTS_FILE) : new LocalFunctions(definition, env.CERTOPS_LOCAL_FAULTS_FILE);
  const invocations: Record<string, { count: number; ms: number }> = {};
  const invoke = async (fn: string, event: unknown) => {
    const start = performance.now();
    try {
      return await functions.invoke(fn, event);
    } finally {
      const seen = (invocations[fn] ??= { count: 0, ms: 0 });
      seen.count++;
      seen.ms += performance.now() - start;
    }
  };
  let bus!: LocalBus;
  let saga!: LocalSagaRunner;
  let ready!: (rt: Runtime) => void;
  const started = new Promise<Runtime>((r) => (ready = r));
  // The CLI talks to the suite over a socket in the state folder when it can: no other local user
  // can listen there in the suite's place and collect the admin token (a TCP port can be taken).
  const apiSocket = join(home, 'api.sock');
  const server = await startLocalServer<AwsPrincipal>({
    definition,
    invoke,
    ready: started,
    extraHostNames: (env.CERTOPS_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    mayUpload: async (req) => mayUpload(req, credentials, await started),
    awsPrincipal: async (req, body) => awsPrincipal(req, body, credentials, await started),
    awsOperations: {
      'AWSEvents.PutEvents': async (input, principal) => bus.putEvents(input.Entries as PutEntry[], principal.kind === 'caller' ? (entry) => inboundRefusal(entry, principal.caller) : undefined),
      ...suiteOnly(deadLetterQueueOperations({ stage: STAGE, baseUrl: (): string => url, rules: definition.rules, deadLetters: () => rt.deadLetters, bus: () => bus })),
      'AWSStepFunctions.StartExecution': async (input, principal) => {
        if (principal.kind !== 'suite') throw new ForbiddenError('StartExecution is the suite\'s own: renew a certificate with POST /certificates/{id}/renew', 'X-Amz-Target');
        const name = requiredString(input, 'name', 80);
        await saga.start(name, parseJsonObject(input.input ?? '{}', 'input'));
        return { executionArn: `arn:aws:states:local:000000000000:execution:certops-${STAGE}-renewal:${name}`, startDate: Date.now() / 1000 };
      },
    },
    onError: (err) => logger.error('local server error', { error: (err as Error).message, stack: (err as Error).stack }),
  }, numberFrom(env.PORT, 8080), apiSocket.length <= 100 ? apiSocket : undefined);
  const url: string = `http://127.0.0.1:${serverPort(server.tcp)}`;

  // What Lambda's environment holds on AWS, pointed at the local substitutes.
  Object.assign(process.env, {
    CERTOPS_STAGE: STAGE,
    CERTOPS_TABLE: tableName,
    CERTOPS_BUS: `certops-${STAGE}`,
    CERTOPS_HOME: home,
    // What functions share besides the table, bus and state machine, by absolute path: an isolated
    // function's own folder is not this one (CERTOPS_ISOLATE_FUNCTIONS).
    CERTOPS_MASTER_KEY_FILE: join(home, 'master.key'),
    CERTOPS_CONFIG: resolve(env.CERTOPS_CONFIG ?? join(home, 'config.yaml')),
    CERTOPS_SIEM_FILE: env.CERTOPS_SIEM_FILE === '' ? '' : resolve(env.CERTOPS_SIEM_FILE ?? join(home, 'siem', 'events.ndjson')),
    CERTOPS_TARGETS_DIR: resolve(env.CERTOPS_TARGETS_DIR ?? join(home, 'targets')),
    CERTOPS_BASE_URL: url,
    // Where the dashboard's files are (on Lambda, the function's zip holds them).
    CERTOPS_ASSETS_ROOT: ROOT,
    CERTOPS_DYNAMODB_ENDPOINT: dynamo.endpoint,
    CERTOPS_AWS_ENDPOINT: url,
    CERTOPS_CONSUMERS: [...new Set(definition.rules.map((r) => r.fn))].join(','),
    // Nobody else serves this folder: whatever was claimed before now was claimed by a process that is gone.
    CERTOPS_OWNERS_GONE_BEFORE: new Date().toISOString(),
  });
  const rt = runtime();

  // The bus's ledger and the saga's executions: the same table, written by the local runtime itself.
  const executions = openTable(tableName, tableClientConfig(dynamo.endpoint));
  bus = new LocalBus({
    busName: `certops-${STAGE}`,
    rules: definition.rules,
    invoke: (fn, event) => deliverThroughQueue(invoke, fn, event),
    deadLetters: rt.deadLetters,
    ledger: new DynamoBusLedger(executions),
    crashPoint: rt.crashPoint,
    clock: rt.clock,
    maxAttempts: numberFrom(env.CERTOPS_BUS_MAX_ATTEMPTS, 4),
    concurrency: numberFrom(env.CERTOPS_BUS_CONCURRENCY, 32),
    retryDelayMs: numberFrom(env.CERTOPS_BUS_RETRY_MS, 500),
    onError: (rule, err) => logger.warn('event delivery failed, will retry', { rule, error: (err as Error).message }),
    validate: eventSchemaValidator(),
  });
  saga = new LocalSagaRunner({
    definition: definition.stateMachine.definition,
    taskFunctions: definition.stateMachine.taskFunctions,
    invoke,
    executions: new DynamoExecutionStore(executions),
    clock: rt.clock,
    retryIntervalMs: numberFrom(env.CERTOPS_SAGA_RETRY_MS, 1000),
    pendingRetryIntervalMs: env.CERTOPS_SAGA_PENDING_RETRY_MS ? Number(env.CERTOPS_SAGA_PENDING_RETRY_MS) : undefined,
    onFinished: (name, outcome) => logger.info('saga finished', { name, status: outcome.status, error: outcome.error }),
    onError: (name, err) => logger.error('saga execution could not go on; the next start resumes it', { name, error: (err as Error)?.message }),
    afterTask: (state) => rt.crashPoint(`saga:after-${state}`),
  });

  // A state folder from before the CA and the vault were kept in the table is brought in first.
  const legacyKeys = await importLegacyHome(home, new SealedKeyVault(executions, await MasterKeyDataKeys.open(rt.config.masterKeyFile)), new DynamoAuthorityStore(executions), rt.clock.now());
  if (legacyKeys) logger.info('imported the CA and key vault of an earlier version into the table', { keys: legacyKeys });
  // The CA is kept in the table; its root is copied out for tools that want a file (openssl verify -CAfile).
  const caChain = await (await rt.authority('local')).chainPem();
  mkdirSync(join(home, 'ca'), { recursive: true });
  writeFileSync(join(home, 'ca', 'root.pem'), caChain.slice(caChain.lastIndexOf('-----BEGIN')));
  // Whoever held a lock before this start is gone (a second stack on this folder is refused):
  // freed before the first request is served.
  const locksFreed = await rt.locks.freeAll();
  ready(rt);
  // Sagas that were running go on from their last completed task; what the bus accepted and did
  // not deliver goes out now; issuances a crash interrupted are finished.
  // Sagas first: a resumed execution takes its certificate's lock again before a late delivery
  // (the old certificate's first deployment, say) could take it and undo the renewal's work.
  const sagasResumed = await saga.resume();
  const deliveries = await bus.resume();
  // The configuration is read from the table, as on AWS: the file goes in as the next version when
  // it was edited (what was resumed above ran on the version in force before the edit).
  await importConfigFile(rt);
  await rt.configuration.refresh(true);
  // After the deliveries (an announcement made again goes behind the events accepted before it),
  // and before the issuances: finishing or expiring a request overwrites the decision an intent proves.
  const announcements = await recoverAllAnnouncements(rt);
  if (announcements.waiting.length) logger.warn('announcements still to make', { waiting: announcements.waiting });
  // On AWS the issuance schedule (issuanceExpirePending) finishes them.
  const recovered = await runAsFunction('issuanceExpirePending', () => recoverIssuances(rt, 0));
  if (recovered.waiting.length) logger.warn('issuances still to finish', { waiting: recovered.waiting });
  const issuances = recovered.finished.length;
  const resumed = {
    locksFreed,
    executions: sagasResumed,
    deliveries,
    issuances,
    announcements: announcements.announced.length,
  };
  if (resumed.locksFreed || resumed.deliveries || resumed.executions || resumed.issuances || resumed.announcements) logger.info('resumed after a stop', resumed);
  const firstStart = await ensureAdminToken(tokenFile, rt);
  const scheduler = startScheduler({
    schedules: definition.schedules,
    invoke,
    clock: rt.clock,
    intervalOverrideMs: env.CERTOPS_SCHEDULE_INTERVAL_MS ? Number(env.CERTOPS_SCHEDULE_INTERVAL_MS) : undefined,
    onError: (fn, err) => logger.error('scheduled run failed', { fn, error: (err as Error).message }),
  });
  // tls-alpn-01 answers for ACME issuers that prove names that way, where the CA connects for the names' port 443.
  const tlsAlpn = env.CERTOPS_ACME_TLS_ALPN_PORT ? await startTlsAlpnResponder(new DynamoAcmeChallengeAnswers(executions, 'tls-alpn-01'), rt.clock, numberFrom(env.CERTOPS_ACME_TLS_ALPN_PORT, 443), env.CERTOPS_ACME_TLS_ALPN_HOST ?? '127.0.0.1') : undefined;
  armCrashPoints();

  return {
    url, home, tokenFile, firstStart, ...(tlsAlpn ? { tlsAlpnResponder: `${tlsAlpn.host}:${tlsAlpn.port}` } : {}), bus, saga, embeddedTable: dynamo, invoke, invocations: () => structuredClone(invocations), ...(server.socket ? { socket: apiSocket } : {}),
    async stop() {
      await scheduler.stop();
      await tlsAlpn?.close();
      for (const listener of [server.tcp, server.socket]) {
        if (!listener) continue;
        listener.closeAllConnections();
        await new Promise((r) => listener.close(r));
      }
      await saga.drain();
      await bus.drain();
      await functions.stop();
      // The issuance benchmark runs the stack as a process of its own and reads what it counted here.
      if (env.CERTOPS_COUNT_TABLE_WRITES) writeFileSync(env.CERTOPS_COUNT_TABLE_WRITES, JSON.stringify(await dynamo.writes()));
      await dynamo.close();
    },
  };
}
