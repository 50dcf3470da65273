import { listCertificates } from './list-certificates.ts';
import { apiHandler, type ApiRequest } from '../../adapters/http/api-handler.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { inventoryRuntime } from './runtime.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { parseListQuery } from './list-query.ts';
import { certificateView } from './certificate-view.ts';
import { recordCertificate } from './record-certificate.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { createToken, parseTokenRequest, revokeToken } from './tokens.ts';
import { importPem } from './import-certificates.ts';
import { requestScan, scheduledScan } from './request-scan.ts';
import { planScan, scanChunk, scanProgress } from './scan-work.ts';
import { lambda } from '../../adapters/lambda.ts';
import { recoverStaleAnnouncements } from '../../shared/announce.ts';
import { INVENTORY, inventoryProofs } from './announcements.ts';
import { asObject, oneOf, optionalString, queryInteger, stringList } from '../../shared/input.ts';
import { changeConfiguration, decideConfigChange, previewConfiguration } from './config-changes.ts';
import { ValidationError } from '../../shared/errors.ts';
import { syncAcm } from './sync-acm.ts';
import { awsRegion, isUnknownEndpoint } from '../../shared/aws-region.ts';
import { INVENTORY_COLUMNS, expiryReport, inventoryReport, toCsv } from './reports.ts';
import { READINESS_COLUMNS, readinessReport, readinessRows, renewalJudgements } from './readiness-report.ts';
import { PAGING, integer, itemsOf, object, ref, string, strings } from '../../shared/api-schemas.ts';

const rt = inventoryRuntime;

export const api = apiHandler({
  'GET /certificates': {
    doc: {
      summary: 'Lists the inventory, filtered and paged',
      query: {
        ...PAGING, status: { ...string, description: 'active, superseded, revoked, expired or discovered' }, environment: string, owner: string, issuer: string,
        expiringWithinDays: { type: 'integer', minimum: 0, description: 'only certificates that expire within this many days' }, domain: { ...string, description: 'certificates holding this name or a name under it' },
        sort: { enum: ['newest', 'oldest', 'expiry', '-expiry'], description: 'newest (default) or oldest first, or by expiry soonest (expiry) or latest (-expiry) first: those in use only' },
      },
      responses: { 200: object(['items'], { items: { type: 'array', items: ref('Certificate') }, nextToken: string, itemsRead: integer }) },
    },
    role: 'viewer',
    async run(req) {
      const now = rt().clock.now();
      const { filter, limit, nextToken } = parseListQuery(req.query, now);
      const page = await listCertificates(filter, limit, nextToken, now, rt().certificates);
      return { status: 200, body: { items: page.items.map((c) => certificateView(c, now)), nextToken: page.nextToken, itemsRead: page.itemsRead } };
    },
  },
  'GET /certificates/{id}': {
    doc: {
      summary: 'One certificate: its chain, findings, where it is served, its deployments, history and renewal',
      responses: { 200: { allOf: [ref('Certificate'), object(['endpoints', 'history', 'deployments'], { endpoints: { type: 'array' }, history: { type: 'array' }, deployments: { type: 'array' } })] } },
    },
    role: 'viewer',
    async run(req) {
      const { certificate, history, endpoints } = await rt().certificates.details(req.params.id);
      if (!certificate) throw new NotFoundError(`no certificate ${req.params.id}`, 'id');
      return { status: 200, body: certificateView(certificate, rt().clock.now(), endpoints, history, rt().config.renewalWindow) };
    },
  },
  'POST /imports': {
    doc: {
      summary: 'Imports PEM certificates into the inventory; a malformed one is refused alone, with its reason',
      body: object(['pem'], { pem: { ...string, description: 'one or more PEM certificates' }, environment: string, owner: string }),
      responses: { 200: { type: 'object', description: 'what was imported and what was refused, with why' } },
    },
    role: 'requester',
    async run(req) {
      return { status: 200, body: await importPem(req.body, req.caller, rt()) };
    },
  },
  'POST /scans': {
    doc: {
      summary: 'Starts a TLS scan of hosts, CIDR ranges and ports',
      body: object(['targets'], { targets: strings, ports: { type: 'array', items: integer }, legacyProtocols: { type: 'boolean' } }),
      responses: { 202: ref('Scan') },
    },
    role: 'requester',
    async run(req) {
      return { status: 202, body: await requestScan(req.body, req.caller, scanDeps()) };
    },
  },
  'GET /scans': {
    doc: { summary: 'Lists scans, newest first', query: PAGING, responses: { 200: itemsOf(ref('Scan'), true) } },
    role: 'viewer',
    run: async (req) => ({ status: 200, body: await rt().scans.list({ limit: queryInteger(req.query, 'limit', 50, 1, 500), nextToken: req.query.nextToken || undefined }) }),
  },
  'GET /scans/{id}': {
    doc: {
      summary: 'A scan\'s progress and its endpoints\' results, paged',
      query: PAGING,
      responses: { 200: { allOf: [ref('Scan'), object(['endpoints'], { endpoints: { type: 'array', items: ref('ScanResult') }, nextToken: string })] } },
    },
    role: 'viewer',
    async run(req) {
      const scan = await rt().scans.get(req.params.id);
      if (!scan) throw new NotFoundError(`no scan ${req.params.id}`, 'id');
      // An endpoint's result is a few KB: a page of 1,000 stays well inside a Lambda answer's 6 MB.
      const results = await rt().scans.results(scan.scanId, { limit: queryInteger(req.query, 'limit', 500, 1, 1000), nextToken: req.query.nextToken || undefined });
      return { status: 200, body: { ...(await scanProgress(scan, rt())), endpoints: results.items, ...(results.nextToken ? { nextToken: results.nextToken } : {}) } };
    },
  },
  'GET /reports/inventory': {
    doc: {
      summary: 'The inventory report: totals by status, environment, owner, issuer and key type, and a row per certificate',
      query: { format: { enum: ['json', 'csv'], description: 'json (default) or csv' }, rows: { enum: ['all', 'none'], description: 'none: the breakdowns alone' } },
      responses: { 200: object(['generatedAt', 'total'], { generatedAt: string, total: integer, certificates: { type: 'array' } }) },
    },
    role: 'viewer',
    async run(req) {
      const format = reportFormat(req.query);
      const report = inventoryReport(await allCertificates(), rt().clock.now());
      if (format === 'csv') return { status: 200, contentType: 'text/csv; charset=utf-8', body: toCsv(report.certificates, INVENTORY_COLUMNS) };
      // rows=none: the breakdowns alone (the dashboard's overview), not a row per certificate.
      if (oneOf(req.query, 'rows', ['all', 'none'], 'all') === 'none') return { status: 200, body: { ...report, certificates: undefined } };
      return { status: 200, body: report };
    },
  },
  'GET /reports/expiry': {
    doc: {
      summary: 'The expiry report: expired, then by week and by month',
      query: { format: { enum: ['json', 'csv'], description: 'json (default) or csv' } },
      responses: { 200: object(['generatedAt', 'expired', 'weeks', 'months'], { generatedAt: string, expired: { type: 'object' }, weeks: { type: 'array' }, months: { type: 'array' } }) },
    },
    role: 'viewer',
    async run(req) {
      const format = reportFormat(req.query);
      const report = expiryReport(await allCertificates(), rt().clock.now());
      if (format === 'csv') {
        const rows = [...report.weeks.map((w) => ({ period: `week ${w.week}`, from: w.from, to: w.to, count: w.count })), ...report.months.map((m) => ({ period: m.month, from: m.from, to: m.to, count: m.count }))];
        return { status: 200, contentType: 'text/csv; charset=utf-8', body: toCsv([{ period: 'expired', from: '', to: report.generatedAt, count: report.expired.count }, ...rows], ['period', 'from', 'to', 'count']) };
      }
      return { status: 200, body: report };
    },
  },
  'GET /reports/readiness': {
    doc: {
      summary: 'The 47-day readiness report (CA/Browser Forum SC-081): which certificates in use could not be renewed without a person, and why, by owner and issuer',
      query: { format: { enum: ['json', 'csv'], description: 'json (default), or csv of the certificates not ready' } },
      responses: {
        200: object(['generatedAt', 'lifetimeDays', 'inUse', 'ready', 'notReady', 'byReason', 'byOwner', 'byIssuer', 'certificates'], {
          generatedAt: string, lifetimeDays: integer, inUse: integer, ready: integer, notReady: integer, byReason: { type: 'object' }, byOwner: { type: 'object' }, byIssuer: { type: 'object' },
          certificates: { type: 'array', items: object(['id', 'reasons'], { id: string, owner: string, issuer: string, reasons: { type: 'array', items: { enum: ['not-managed', 'issuer-without-acme', 'needs-approval', 'policy-refuses', 'no-deployment-target'] } } }) },
        }),
      },
    },
    role: 'viewer',
    async run(req) {
      const format = reportFormat(req.query);
      const certs = await allCertificates();
      const report = readinessReport(certs, rt().clock.now(), await renewalJudgements(certs, { policy: rt().policy, ownership: rt().ownership, requests: rt().requests }));
      if (format === 'csv') return { status: 200, contentType: 'text/csv; charset=utf-8', body: toCsv(readinessRows(report), [...READINESS_COLUMNS]) };
      return { status: 200, body: report };
    },
  },
  'POST /imports/acm': {
    doc: {
      summary: 'Reads ACM certificates of the given (or configured) regions into the inventory',
      body: object([], { regions: strings }),
      responses: { 200: object(['regions'], { regions: { type: 'array' } }) },
    },
    role: 'admin',
    async run(req) {
      const body = req.body === undefined ? {} : asObject(req.body);
      const regions = body.regions === undefined ? rt().suite.acmRegions : stringList(body, 'regions', 30).map((r) => awsRegion(r, 'regions'));
      if (regions.length === 0) throw new ValidationError('regions: none given and none configured (inventory.acmRegions)', 'regions');
      return { status: 200, body: { regions: await syncRegions(regions) } };
    },
  },
  'POST /tokens': {
    doc: {
      summary: 'Mints an API token; the token itself is shown in this answer only',
      body: object(['name'], { name: string, role: { enum: ['viewer', 'requester', 'approver', 'admin'] }, expiresAt: { type: 'string', format: 'date-time' }, eventSources: strings }),
      responses: { 201: object(['token', 'tokenId', 'name', 'role', 'expiresAt'], { token: { type: 'string', pattern: '^cop_[0-9a-f]{20}_[A-Za-z0-9_-]{43}$' }, tokenId: string, name: string, role: string, expiresAt: string }, { not: { required: ['secretHash'] } }) },
    },
    role: 'admin',
    async run(req) {
      const { token, record } = await createToken(parseTokenRequest(req.body, rt().clock.now(), rt().tokenLifetime), req.caller.name, rt());
      return { status: 201, body: { token, ...record } };
    },
  },
  'GET /tokens': {
    doc: { summary: 'Lists API tokens (never their secrets)', responses: { 200: itemsOf(ref('Token')) } }, role: 'admin', run: async () => ({ status: 200, body: { items: await rt().tokens.list() } }) },
  'DELETE /tokens/{id}': {
    doc: { summary: 'Revokes a token', query: { dryRun: { enum: ['true', 'false'], description: 'true: say what would be revoked' } }, responses: { 200: { type: 'object' } } },
    role: 'admin',
    run: async (req) => ({ status: 200, body: await revokeToken(req.params.id, req.caller.name, rt()) }),
  },
  'GET /config': {
    doc: { summary: 'The configuration in force and its version', responses: { 200: { allOf: [ref('ConfigVersion'), { required: ['document'] }] } } },
    role: 'admin',
    withoutConfiguration: true,
    async run() {
      const current = await rt().configurations.latest();
      return { status: 200, body: current ?? { version: 0, document: {} } };
    },
  },
  'PUT /config': {
    doc: {
      summary: 'Replaces the configuration: applied at once, or proposed for a second admin when it changes policy or issuers; dryRun checks it and says what it would change',
      query: { dryRun: { enum: ['true', 'false'], description: 'true: check the document and answer what it would change and whether a second admin must approve it; nothing is recorded' } },
      body: { type: 'object', description: 'the whole configuration document (config.yaml as JSON)' },
      responses: {
        200: {
          oneOf: [
            object(['status', 'version'], { status: { enum: ['applied', 'unchanged'] }, version: integer, changed: strings }),
            object(['wouldBe', 'version', 'changed', 'diff'], { wouldBe: { enum: ['unchanged', 'applied', 'pending'] }, version: integer, changed: strings, diff: { type: 'array', items: { type: 'object' } } }),
          ],
        },
        202: object(['status', 'changeId', 'changed'], { status: { const: 'pending' }, changeId: string, changed: strings }),
      },
    },
    role: 'admin',
    withoutConfiguration: true,
    async run(req) {
      const dryRun = oneOf(req.query, 'dryRun', ['true', 'false'], 'false') === 'true';
      const document = asObject(req.body, 'configuration');
      rt().configuration.check(document);
      if (dryRun) return { status: 200, body: await previewConfiguration(document, rt()) };
      const outcome = await changeConfiguration(document, req.caller.name, rt());
      if (outcome.status === 'applied') await rt().configuration.refresh(true);
      return { status: outcome.status === 'pending' ? 202 : 200, body: outcome };
    },
  },
  'GET /config/history': {
    doc: { summary: 'Every version of the configuration: who, approved by whom, the diff', query: PAGING, responses: { 200: itemsOf(ref('ConfigVersion'), true) } },
    role: 'admin',
    withoutConfiguration: true,
    run: async (req) => ({ status: 200, body: await rt().configurations.history(queryInteger(req.query, 'limit', 50, 1, 500), req.query.nextToken) }),
  },
  'GET /config/changes': {
    doc: {
      summary: 'Proposed configuration changes',
      query: { status: { enum: ['pending', 'approving', 'approved', 'rejected'] } },
      responses: { 200: itemsOf(ref('ConfigChange')) },
    },
    role: 'admin',
    withoutConfiguration: true,
    async run(req) {
      const status = req.query.status === undefined ? undefined : oneOf(req.query, 'status', ['pending', 'approving', 'approved', 'rejected'] as const, 'pending');
      return { status: 200, body: { items: await rt().configChanges.list(status) } };
    },
  },
  'GET /config/changes/{id}': {
    doc: { summary: 'One proposed configuration change', responses: { 200: ref('ConfigChange') } },
    role: 'admin',
    withoutConfiguration: true,
    async run(req) {
      const change = await rt().configChanges.get(req.params.id);
      if (!change) throw new NotFoundError(`no configuration change ${req.params.id}`, 'id');
      return { status: 200, body: change };
    },
  },
  'POST /config/changes/{id}/approve': {
    doc: { summary: 'A second admin approves a proposed change (it applies)', body: object([], { comment: string }), responses: { 200: ref('ConfigChange') } }, role: 'admin', withoutConfiguration: true, run: (req) => decide(req, 'approve') },
  'POST /config/changes/{id}/reject': {
    doc: { summary: 'An admin rejects a proposed change', body: object([], { comment: string }), responses: { 200: ref('ConfigChange') } }, role: 'admin', withoutConfiguration: true, run: (req) => decide(req, 'reject') },
}, rt);

/**
 * The consumers' dead-letter queues, in a function of their own: redriving needs sqs:SendMessage
 * on the consumers' queues, a way into every consumer that the rest of the inventory API must not have.
 */
export const deadLetters = apiHandler({
  'GET /dead-letters': {
    doc: {
      summary: 'Events each consumer gave up on, by consumer queue',
      query: { consumer: { ...string, description: 'one consumer function' }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
      responses: { 200: object(['queues'], { queues: { type: 'array' } }) },
    },
    role: 'admin',
    async run(req) {
      const limit = queryInteger(req.query, 'limit', 20, 1, 100);
      return { status: 200, body: { queues: await rt().deadLetterQueues.list(optionalString(req.query, 'consumer', 80), limit) } };
    },
  },
  'POST /dead-letters/replay': {
    doc: {
      summary: 'Sends dead-lettered events to their consumers again',
      body: object([], { consumer: string }),
      responses: { 202: object(['queues'], { queues: { type: 'array' } }) },
    },
    role: 'admin',
    run: async (req) => ({ status: 202, body: { queues: await rt().deadLetterQueues.replay(optionalString(asObject(req.body ?? {}), 'consumer', 80)) } }),
  },
}, rt);

async function decide(req: ApiRequest, decision: 'approve' | 'reject') {
  const comment = optionalString(asObject(req.body ?? {}), 'comment', 1000);
  const change = await decideConfigChange(req.params.id, decision, req.caller, comment, (document) => rt().configuration.check(document), rt());
  if (decision === 'approve') await rt().configuration.refresh(true);
  return { status: 200, body: change };
}

function reportFormat(query: Record<string, string>): 'json' | 'csv' {
  return oneOf(query, 'format', ['json', 'csv'] as const, 'json');
}

/** Every certificate, page by page (reports need them all). */
async function allCertificates() {
  const all = [];
  let token: string | undefined;
  do {
    const page = await rt().certificates.list({}, 500, token);
    all.push(...page.items);
    token = page.nextToken;
  } while (token);
  return all;
}

function syncRegions(regions: string[]) {
  return Promise.all(regions.map((region) => syncAcm(region, rt().acmCertificates(region), rt()).catch((err) => {
    if (isUnknownEndpoint(err)) throw new ValidationError(`regions: ACM in ${region} cannot be reached (${(err as Error).message}); is it a region of this partition?`, 'regions');
    throw err;
  })));
}

/** Scheduled: read every configured ACM region into the inventory. */
export const acmSync = lambda(async () => ({ regions: await syncRegions(rt().suite.acmRegions) }));

const scanDeps = () => ({ ...rt(), concurrency: rt().config.scanConcurrency, timeoutMs: rt().config.scanTimeoutMs, totalTimeMs: rt().config.scanTotalMs, chunkSize: rt().config.scanChunkSize });

/** scan.requested: the scan is split into chunks for the scan workers. */
export const scans = eventHandler(async (event) => {
  await planScan(String(event.detail.scanId), scanDeps());
});

/**
 * scan.chunk_requested: a scan worker scans one chunk (many run at once), for the scan's time
 * bound at most and stopping 30 seconds before its timeout, reporting what it did not reach.
 */
export const scanChunks = eventHandler(async (event, context) => {
  const left = (context?.getRemainingTimeInMillis?.() ?? rt().config.scanTotalMs) - 30_000;
  await scanChunk(event.detail, rt().clock.now().getTime() + Math.min(rt().config.scanTotalMs, left), scanDeps());
});

/** Scheduled: scan the targets in the suite configuration. */
export const scheduledScans = lambda(async () => scheduledScan(rt().suite.scanTargets, rt().suite.scanPorts, scanDeps()));

/**
 * ct.certificate_observed for a finding a person authorized: the certificate joins the inventory
 * as known. What joins is read from the stored finding (authorized there), never from the event.
 */
export const events = eventHandler(async (event) => {
  if (event.detailType !== 'ct.certificate_observed') return;
  const finding = await rt().ct.getFinding(String(event.detail.certificateId));
  if (finding?.status !== 'authorized' || !finding.certificatePem) return;
  await recordCertificate(certificateBlocks(finding.certificatePem, 'certificatePem')[0], { source: 'import' }, rt(), 'certificatePem');
});

/** Scheduled: what a dead invocation changed and did not announce is announced. */
export const recover = lambda(async () => recoverStaleAnnouncements(INVENTORY, inventoryProofs, rt()));
