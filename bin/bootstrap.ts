import { createHash } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoAnnouncementLedger } from '../adapters/dynamodb/announcement-ledger.ts';
import { DynamoConfigStore } from '../adapters/dynamodb/config-store.ts';
import { DynamoTokenStore } from '../adapters/dynamodb/token-store.ts';
import type { Table } from '../adapters/dynamodb/table.ts';
import { IN_DOCUMENT, localFilesNamed, parseSuiteConfig } from '../adapters/suite-config.ts';
import { loadSuiteConfig } from '../adapters/suite-config-file.ts';
import { recordConfiguration } from '../services/inventory/config-changes.ts';
import { mintAdminToken, type TokenLifetime } from '../services/inventory/tokens.ts';
import type { AnnounceDeps } from '../shared/announce.ts';
import type { AnnouncementLedger, Clock } from '../shared/ports.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';
import { CliError } from './api-client.ts';

/** What bootstrap reaches with the operator's credentials: the stack's outputs, its table, and its API over HTTPS. */
export interface BootstrapClients {
  cloudformation: CloudFormationClient;
  table(name: string): Table;
  fetch: typeof fetch;
  clock: Clock;
}

export interface BootstrapResult {
  stackName: string;
  apiUrl: string;
  tableName: string;
  /** The built-in CA's root (SHA-256 of its DER), when `local` is the default issuer. */
  builtInRootSha256?: string;
  configuration: { version: number; recordedNow: boolean };
  admin: { name: string; tokenId: string; expiresAt: string; token?: string };
}

/**
 * The operator's credentials may not put certops.* events on the suite's bus (its policy keeps
 * them the suite's): bootstrap records its announcements as intents only, and the suite's own
 * recovery function (every 5 minutes, for intents older than 15) puts them on the bus.
 */
function announcedBySuite(ledger: AnnouncementLedger): AnnounceDeps {
  return { announcements: { intend: (s, e) => ledger.intend(s, e), unsettled: (s, b, l) => ledger.unsettled(s, b, l), settle: async () => {} }, publisher: { publish: async () => {} } };
}

async function stackOutputs(stackName: string, cloudformation: CloudFormationClient): Promise<Record<string, string>> {
  try {
    const out = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    return Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (err) {
    if ((err as Error).name === 'ValidationError') throw new CliError(`no stack ${stackName}: deploy it first (npx serverless deploy --stage ...)`, 2);
    throw err;
  }
}

/**
 * First start on AWS (run with the operator's credentials, twice changes nothing): checks the
 * deployed API answers, has the built-in CA made (the suite's functions make it on first use and
 * only they may use the vault key: bootstrap asks the API for its chain), records the initial
 * configuration from `configFile` when none is recorded, and mints the first admin token when no
 * live admin token exists (its secret is in the result this once).
 * Errors: CliError naming what is missing (no stack, an output, an API that does not answer).
 */
export async function bootstrap(options: { stage: string; configFile?: string }, clients: BootstrapClients): Promise<BootstrapResult> {
  const stackName = `certops-${options.stage}`;
  const outputs = await stackOutputs(stackName, clients.cloudformation);
  const need = (key: string) => outputs[key] || (() => { throw new CliError(`stack ${stackName} has no output ${key}: deploy this version of certops first`, 2); })();
  const apiUrl = need('CertopsApiUrl').replace(/\/+$/, '');
  const tableName = need('CertopsTableName');
  const table = clients.table(tableName);
  const get = async (path: string) => {
    const res = await clients.fetch(`${apiUrl}${path}`).catch((err: Error) => { throw new CliError(`the API at ${apiUrl} does not answer (${err.message})`, 1); });
    if (!res.ok) throw new CliError(`GET ${apiUrl}${path} answered ${res.status}`, 1);
    return res.text();
  };
  await get('/health');
  let builtInRootSha256: string | undefined;
  if ((outputs.CertopsDefaultIssuer ?? 'local') === 'local') {
    const root = certificateBlocks(await get('/ca/chain'), 'ca chain').at(-1)!;
    builtInRootSha256 = createHash('sha256').update(root).digest('hex');
  }
  const deps = { ...announcedBySuite(new DynamoAnnouncementLedger(table)), clock: clients.clock };
  const configurations = new DynamoConfigStore(table);
  let current = await configurations.latest();
  let recordedNow = false;
  if (!current && options.configFile) {
    const document = loadSuiteConfig(options.configFile, '').document;
    const files = localFilesNamed(document);
    if (files.length) throw new CliError(`${options.configFile}: ${files.join(', ')} name files on this machine, which the functions on AWS cannot read (put roots in inventory.trustedRootsPem)`, 2);
    current = await recordConfiguration(document, { changedBy: 'bootstrap', location: 'bootstrap' }, { ...deps, configurations });
    recordedNow = current !== undefined;
  }
  const tokens = new DynamoTokenStore(table);
  const now = clients.clock.now();
  const live = (await tokens.list()).find((t) => t.role === 'admin' && !t.revokedAt && Date.parse(t.expiresAt) > now.getTime());
  let admin: BootstrapResult['admin'];
  if (live) admin = { name: live.name, tokenId: live.tokenId, expiresAt: live.expiresAt };
  else {
    const minted = await mintAdminToken('bootstrap', { ...deps, tokens, tokenLifetime: tokenLifetime(current?.document) });
    admin = { name: minted.record.name, tokenId: minted.record.tokenId, expiresAt: minted.record.expiresAt, token: minted.token };
  }
  return { stackName, apiUrl, tableName, builtInRootSha256, configuration: { version: current?.version ?? 0, recordedNow }, admin };
}

/** The token lifetime of the configuration in force (checked when it was recorded), else the defaults. */
function tokenLifetime(document: Record<string, unknown> | undefined): TokenLifetime {
  return parseSuiteConfig({ tokens: document?.tokens }, IN_DOCUMENT, '.', '').tokenLifetime;
}
