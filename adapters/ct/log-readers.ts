import type { CtLogState } from '../../shared/model.ts';
import type { LogReader } from '../../shared/ports.ts';
import { LogHttp, type LogHttpOptions } from './log-http.ts';
import { Rfc6962Client } from './rfc6962-client.ts';
import { StaticCtClient } from './static-ct-client.ts';

/** The reader for a log of either API; a static log's entries and tiles are read for the checkpoint last fetched. */
export function logReaderFor(state: Pick<CtLogState, 'logUrl' | 'kind' | 'key'>, options: LogHttpOptions = {}): LogReader {
  const http = new LogHttp(options);
  if (state.kind !== 'static') return new Rfc6962Client(state.logUrl, http);
  const client = new StaticCtClient(state.logUrl, http);
  let treeSize = 0;
  return {
    async getSth() {
      const sth = await client.getSth(state.key);
      treeSize = Number(sth.tree_size ?? 0);
      return sth;
    },
    getEntries: (start, end) => client.getEntriesOf(start, end, treeSize),
    getIssuer: (fingerprint) => client.getIssuer(fingerprint),
    tileHashes: (level, start, end) => client.tileHashesOf(level, start, end, treeSize),
  };
}
