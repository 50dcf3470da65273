import middy from '@middy/core';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { runtime } from '../../adapters/runtime.ts';
import { Rfc6962Client } from '../../adapters/ct/rfc6962-client.ts';
import { ValidationError } from '../../shared/errors.ts';
import { asObject, requiredString, stringList } from '../../shared/input.ts';
import { parseWatchEntry } from '../../shared/ct/watchlist.ts';
import { pollLog } from './poll-log.ts';

const rt = () => runtime(process.env);
const deps = () => ({ ...rt(), logReader: (url: string) => new Rfc6962Client(url), batchSize: 256, maxEntriesPerPoll: 100_000 });

/** Scheduled: read every watched log from where it stopped. */
export const poll = middy(async () => {
  const results = [];
  for (const log of await rt().ct.listLogs()) results.push(await pollLog(log, deps()));
  return { logs: results };
});

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
  'GET /ct/logs': { role: 'viewer', run: async () => ({ status: 200, body: { items: await rt().ct.listLogs() } }) },
  'POST /ct/logs': {
    role: 'admin',
    async run(req) {
      const body = asObject(req.body);
      const url = requiredString(body, 'url', 1024);
      if (!/^https?:\/\//.test(url)) throw new ValidationError('url must be an http(s) URL', 'url');
      const start = body.start ?? 'now';
      if (start !== 'now' && !(Number.isInteger(start) && (start as number) >= 0)) throw new ValidationError('start must be "now" or an entry index', 'start');
      const existing = await rt().ct.getLog(url);
      if (existing) return { status: 200, body: existing };
      const sth = await new Rfc6962Client(url).getSth().catch((err) => {
        throw new ValidationError(`the log at url did not answer get-sth: ${(err as Error).message}`, 'url');
      });
      const state = { logUrl: url, position: start === 'now' ? sth.treeSize : Math.min(start as number, sth.treeSize), treeSize: sth.treeSize, rootHash: sth.rootHash, updatedAt: rt().clock.now().toISOString() };
      await rt().ct.saveLog(state, undefined);
      return { status: 201, body: state };
    },
  },
}, () => rt().tokens);
