import { lambda } from '../../adapters/lambda.ts';
import { recoverStaleAnnouncements } from '../../shared/announce.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { ctMonitorRuntime } from './runtime.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, oneOf, queryInteger, requiredString, stringList } from '../../shared/input.ts';
import { parseWatchEntry } from '../../shared/ct/watchlist.ts';
import { canonicalLogUrl } from '../../shared/ct/log-url.ts';
import { pollAllLogs, pollRequestedLog, requestPolls } from './poll-logs.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { firstEntryAt } from './start-position.ts';
import type { CtLogState } from '../../shared/model.ts';
import { logReaderFor } from '../../adapters/ct/log-readers.ts';
import { parseSth, sthSignatureValid } from '../../shared/ct/signed-tree-head.ts';
import { announceAfter } from '../../shared/announce.ts';
import { CT_MONITOR, ctProofs } from './announcements.ts';
import { integer, itemsOf, object, ref, string, strings } from '../../shared/api-schemas.ts';

const rt = ctMonitorRuntime;
// A pass reads at most PASS_ENTRIES; passes go on while the time budget lasts, and the next tick continues.
const PASS_ENTRIES = 20_000;
// Entries asked for per get-entries call: what certspotter asks. A log that serves fewer per call
// (its own limit) is asked for the rest, so a larger figure costs nothing there, and a log that
// serves this many answers a backlog in a quarter of the calls that 256 would take.
const GET_ENTRIES_BATCH = 1000;
/** A log's reader, at the request rate the suite configures, waiting for nothing past the poll's deadline. */
const readerFor = (log: Pick<CtLogState, 'logUrl' | 'kind' | 'key'>, limits?: { deadline?: number }) => logReaderFor(log, { requestsPerSecond: rt().suite.ctFetch.requestsPerSecond, ...limits });
const deps = () => ({
  ...rt(), batchSize: GET_ENTRIES_BATCH, maxEntries: PASS_ENTRIES, allowedIssuers: rt().suite.ctAllowedIssuers, concurrency: rt().suite.ctFetch.concurrency,
  logReader: readerFor,
});

/** A minute before the function's timeout: the unit saves its last pass and lets go of the log in time. */
const deadlineOf = (context: { getRemainingTimeInMillis?(): number } | undefined) => rt().clock.now().getTime() + (context?.getRemainingTimeInMillis?.() ?? 300_000) - 60_000;

/** Scheduled: one unit of work per watched log that is due (ct.log_poll_requested), which poll workers take in parallel. */
export const poll = lambda(async () => requestPolls(rt()));

/** ct.log_poll_requested: a poll worker reads one log from where it stopped, until a minute before its timeout. */
export const pollLogs = eventHandler(async (event, context) => {
  await pollRequestedLog(String(event.detail.logUrl), deadlineOf(context), deps());
});

/** Pauses, resumes or stops watching the log `url` names, and says so on the bus (who, and what). */
async function changeLog(req: { body: unknown; caller: { name: string } }, change: 'paused' | 'resumed' | 'removed') {
  const url = canonicalLogUrl(requiredString(asObject(req.body), 'url', 1024));
  // Only a watched log gets an intent: recovery reads a log that is gone as removed.
  if (!(await rt().ct.getLog(url))) throw new NotFoundError(`no CT log ${url} is watched`, 'url');
  const changed = newEvent('ct.log_changed', { logUrl: url, change, changedBy: req.caller.name }, { now: () => rt().clock.now(), newId: rt().newId });
  const done = await announceAfter(CT_MONITOR, [changed], () => (change === 'removed' ? rt().ct.removeLog(url) : rt().ct.setPaused(url, change === 'paused')), rt());
  if (!done) throw new NotFoundError(`no CT log ${url} is watched`, 'url');
  return { status: 200, body: change === 'removed' ? { logUrl: url, removed: true } : (await rt().ct.getLog(url))! };
}

export const api = apiHandler({
  'GET /ct/watchlist': {
    doc: { summary: 'The domains watched in CT logs', responses: { 200: object(['domains'], { domains: strings }) } }, role: 'viewer', run: async () => ({ status: 200, body: { domains: await rt().ct.getWatchlist() } }) },
  'PUT /ct/watchlist': {
    doc: {
      summary: 'Replaces the watched domains (a leading dot watches the names under a domain)',
      body: object(['domains'], { domains: strings }),
      responses: { 200: object(['domains'], { domains: strings }) },
    },
    role: 'admin',
    async run(req) {
      const domains = stringList(asObject(req.body), 'domains', 10_000);
      domains.forEach((d) => parseWatchEntry(d));
      const before = await rt().ct.getWatchlist();
      const after = [...new Set(domains.map((d) => d.toLowerCase()))];
      const added = after.filter((d) => !before.includes(d));
      const removed = before.filter((d) => !after.includes(d));
      const changed = newEvent('ct.watchlist_changed', { changedBy: req.caller.name, added, removed, domains: after.length }, { now: () => rt().clock.now(), newId: rt().newId });
      await announceAfter(CT_MONITOR, added.length || removed.length ? [changed] : [], () => rt().ct.putWatchlist(after), rt());
      return { status: 200, body: { domains: await rt().ct.getWatchlist() } };
    },
  },
  'POST /ct/logs/pause': {
    doc: { summary: 'Pauses a watched log (its verified state is kept)', body: object(['url'], { url: string }), responses: { 200: ref('CtLog') } }, role: 'admin', run: (req) => changeLog(req, 'paused') },
  'POST /ct/logs/resume': {
    doc: { summary: 'Resumes a paused log', body: object(['url'], { url: string }), responses: { 200: ref('CtLog') } }, role: 'admin', run: (req) => changeLog(req, 'resumed') },
  'POST /ct/logs/remove': {
    doc: {
      summary: 'Stops watching a log',
      body: object(['url'], { url: string, dryRun: { type: 'boolean' } }),
      responses: { 200: object(['logUrl'], { logUrl: string, removed: { type: 'boolean' } }) },
    }, role: 'admin', run: (req) => changeLog(req, 'removed') },
  // An API call has API Gateway's 29 seconds: a long backlog is left to the scheduled poll (or another call).
  'POST /ct/poll': {
    doc: {
      summary: 'Reads every watched log now (for 15 s at most), verifying each tree head and the entries against it',
      responses: { 200: object(['logs'], { logs: { type: 'array', items: object(['logUrl'], { logUrl: string }) }, paused: strings, backingOff: { type: 'array' } }) },
    }, role: 'admin', run: async () => ({ status: 200, body: await pollAllLogs(rt().clock.now().getTime() + 15_000, deps()) }) },
  'GET /ct/findings': {
    doc: {
      summary: 'Certificates on watched names that certops did not issue, newest first, paged',
      query: { status: { enum: ['open', 'authorized'], description: 'only open or only authorized findings' }, limit: { type: 'integer', minimum: 1, maximum: 500 }, nextToken: string },
      responses: { 200: itemsOf(ref('CtFinding'), true) },
    },
    role: 'viewer',
    async run(req) {
      const status = req.query.status === undefined ? undefined : oneOf(req.query, 'status', ['open', 'authorized'] as const, 'open');
      const page = await rt().ct.listFindings({ limit: queryInteger(req.query, 'limit', 100, 1, 500), nextToken: req.query.nextToken || undefined, status });
      // Rows leave each certificate's PEM out: a page of them stays small.
      return { status: 200, body: { items: page.items.map(({ certificatePem, ...f }) => f), ...(page.nextToken ? { nextToken: page.nextToken } : {}) } };
    },
  },
  'POST /ct/findings/{id}/authorize': {
    doc: { summary: 'An approver says a CT finding is a certificate the organisation knows of', body: object([], { comment: string }), responses: { 200: ref('CtFinding') } },
    role: 'approver',
    async run(req) {
      const finding = await rt().ct.getFinding(req.params.id);
      if (!finding) throw new NotFoundError(`no CT finding ${req.params.id}`, 'id');
      // Inventory reads the authorized finding from the store; a precertificate stays known by its finding.
      const observed = newEvent('ct.certificate_observed', {
        logUrl: finding.logUrl, index: finding.index, names: finding.names, entryType: finding.entryType, fingerprintSha256: finding.fingerprintSha256,
        certificateId: finding.id, authorizedBy: req.caller.name,
      }, { now: () => rt().clock.now(), newId: () => `ct:authorized:${finding.id}` });
      await announceAfter(CT_MONITOR, [observed], () => rt().ct.authorize(finding.id), rt());
      return { status: 200, body: { ...finding, certificatePem: undefined, status: 'authorized' } };
    },
  },
  'GET /ct/logs': {
    doc: { summary: 'The watched logs and how far each is verified', responses: { 200: itemsOf(ref('CtLog')) } }, role: 'viewer', run: async () => ({ status: 200, body: { items: await rt().ct.listLogs() } }) },
  'POST /ct/logs': {
    doc: {
      summary: 'Watches a log (RFC 6962 or static-ct-api), from its end or from --start',
      body: object(['url'], { url: string, key: { ...string, description: 'the log\'s public key, base64 SubjectPublicKeyInfo' }, kind: { enum: ['rfc6962', 'static'] }, start: integer }),
      responses: { 200: ref('CtLog'), 201: ref('CtLog') },
    },
    role: 'admin',
    async run(req) {
      const body = asObject(req.body);
      const url = canonicalLogUrl(requiredString(body, 'url', 1024));
      const key = requiredString(body, 'key', 4096);
      if (!/^[A-Za-z0-9+/=]+$/.test(key)) throw new ValidationError('key must be the log\'s public key, base64 DER (as log lists give it)', 'key');
      const start = body.start ?? 'now';
      const startDate = typeof start === 'string' && start !== 'now' ? Date.parse(start) : undefined;
      if (start !== 'now' && !(Number.isInteger(start) && (start as number) >= 0) && !Number.isFinite(startDate)) throw new ValidationError('start must be "now", an entry index or an ISO 8601 date', 'start');
      const existing = await rt().ct.getLog(url);
      if (existing) return { status: 200, body: existing };
      if (body.kind !== undefined && body.kind !== 'rfc6962' && body.kind !== 'static') throw new ValidationError('kind must be "rfc6962" or "static"', 'kind');
      const kind = body.kind === 'static' ? 'static' as const : 'rfc6962' as const;
      const reader = readerFor({ logUrl: url, kind, key });
      const raw = await reader.getSth().catch((err) => {
        throw new ValidationError(`the log at url did not answer get-sth: ${(err as Error).message}`, 'url');
      });
      const sth = parseSth(raw);
      if (!sth || !sthSignatureValid(sth, key)) throw new ValidationError('the log\'s tree head does not verify with key', 'key');
      const position = start === 'now' ? sth.treeSize : typeof start === 'number' ? start : await firstEntryAt(reader, sth.treeSize, startDate!);
      if (position > sth.treeSize) throw new ValidationError(`start is past the log's end (${sth.treeSize} entries)`, 'start');
      // The tree before a later start is rebuilt at the first poll (from an audit path or the hash tiles) and checked.
      const state: CtLogState = start === 'now'
        ? { logUrl: url, kind, key, position, treeSize: position, rootHash: sth.rootHash.toString('base64'), updatedAt: rt().clock.now().toISOString() }
        : { logUrl: url, kind, key, position, treeSize: position, updatedAt: rt().clock.now().toISOString() };
      const added = newEvent('ct.log_added', { logUrl: url, kind, addedBy: req.caller.name, position, treeSize: sth.treeSize }, { now: () => rt().clock.now(), newId: () => `ct:log-added:${url}` });
      if (!(await announceAfter(CT_MONITOR, [added], () => rt().ct.saveLog(state, undefined), rt()))) return { status: 200, body: (await rt().ct.getLog(url))! };
      return { status: 201, body: state };
    },
  },
}, rt);

/** Scheduled: what a dead invocation changed and did not announce is announced. */
export const recover = lambda(async () => recoverStaleAnnouncements(CT_MONITOR, ctProofs, rt()));
