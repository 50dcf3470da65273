import middy from '@middy/core';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { runtime } from '../../adapters/runtime.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import { asObject, requiredString, stringList } from '../../shared/input.ts';
import { parseWatchEntry } from '../../shared/ct/watchlist.ts';
import { pollLog } from './poll-log.ts';
import { logReaderFor } from '../../adapters/ct/log-readers.ts';
import { parseSth, sthSignatureValid } from '../../shared/ct/signed-tree-head.ts';

const rt = () => runtime(process.env);
const deps = () => ({ ...rt(), logReader: logReaderFor, batchSize: 256, concurrency: 4, allowedIssuers: rt().suite.ctAllowedIssuers });

async function pollAll() {
  const results = [];
  for (const log of await rt().ct.listLogs()) results.push(await pollLog(log, deps()));
  return { logs: results };
}

/** Scheduled: read every watched log from where it stopped. */
export const poll = middy(pollAll);

export const api = apiHandler({
  'GET /ct/watchlist': { role: 'viewer', run: async () => ({ status: 200, body: { domains: await rt().ct.getWatchlist() } }) },
  'PUT /ct/watchlist': {
    role: 'admin',
    async run(req) {
      const domains = stringList(asObject(req.body), 'domains', 10_000);
      domains.forEach((d) => parseWatchEntry(d));
      await rt().ct.putWatchlist([...new Set(domains.map((d) => d.toLowerCase()))]);
      return { status: 200, body: { domains: await rt().ct.getWatchlist() } };
    },
  },
  'POST /ct/poll': { role: 'admin', run: async () => ({ status: 200, body: await pollAll() }) },
  'GET /ct/findings': { role: 'viewer', run: async () => ({ status: 200, body: { items: (await rt().ct.listFindings()).map(({ certificatePem, ...f }) => f) } }) },
  'POST /ct/findings/{id}/authorize': {
    role: 'approver',
    async run(req) {
      const finding = await rt().ct.getFinding(req.params.id);
      if (!finding) throw new NotFoundError(`no CT finding ${req.params.id}`, 'id');
      await rt().ct.authorize(finding.id);
      // Inventory takes the authorized certificate from this event; a precertificate stays known by its finding.
      await rt().publisher.publish([newEvent('ct.certificate_observed', {
        logUrl: finding.logUrl, index: finding.index, names: finding.names, entryType: finding.entryType, fingerprintSha256: finding.fingerprintSha256,
        certificateId: finding.id, authorizedBy: req.caller.name, ...(finding.certificatePem ? { certificatePem: finding.certificatePem } : {}),
      }, { now: () => rt().clock.now(), newId: () => `ct:authorized:${finding.id}` })]);
      return { status: 200, body: { ...finding, certificatePem: undefined, status: 'authorized' } };
    },
  },
  'GET /ct/logs': { role: 'viewer', run: async () => ({ status: 200, body: { items: await rt().ct.listLogs() } }) },
  'POST /ct/logs': {
    role: 'admin',
    async run(req) {
      const body = asObject(req.body);
      const url = requiredString(body, 'url', 1024);
      if (!/^https?:\/\//.test(url)) throw new ValidationError('url must be an http(s) URL', 'url');
      const key = requiredString(body, 'key', 4096);
      if (!/^[A-Za-z0-9+/=]+$/.test(key)) throw new ValidationError('key must be the log\'s public key, base64 DER (as log lists give it)', 'key');
      const start = body.start ?? 'now';
      if (start !== 'now' && !(Number.isInteger(start) && (start as number) >= 0)) throw new ValidationError('start must be "now" or an entry index', 'start');
      const existing = await rt().ct.getLog(url);
      if (existing) return { status: 200, body: existing };
      const kind = body.kind === 'static' ? 'static' as const : 'rfc6962' as const;
      const raw = await logReaderFor({ logUrl: url, kind, key }).getSth().catch((err) => {
        throw new ValidationError(`the log at url did not answer get-sth: ${(err as Error).message}`, 'url');
      });
      const sth = parseSth(raw);
      if (!sth || !sthSignatureValid(sth, key)) throw new ValidationError('the log\'s tree head does not verify with key', 'key');
      // Reading starts at the beginning (start 0) or now; a later index is reached by reading up to it, so the tree stays verifiable.
      if (start !== 'now' && start !== 0) throw new ValidationError('start must be "now" or 0', 'start');
      const state = start === 'now'
        ? { logUrl: url, kind, key, position: sth.treeSize, treeSize: sth.treeSize, rootHash: sth.rootHash.toString('base64'), updatedAt: rt().clock.now().toISOString() }
        : { logUrl: url, kind, key, position: 0, treeSize: 0, updatedAt: rt().clock.now().toISOString() };
      await rt().ct.saveLog(state, undefined);
      return { status: 201, body: state };
    },
  },
}, () => rt().tokens);
