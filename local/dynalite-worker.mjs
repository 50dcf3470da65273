// The embedded table in a thread of its own (plain JavaScript: a worker thread runs without the
// TypeScript loader). dynalite's request handling and LevelDB work take about a third of the CPU
// of an issuance; here they run beside the stack's thread instead of in it.
import { EventEmitter } from 'node:events';
import { chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');
const { socketPath, path } = workerData;
// Counting reads every request again: on only while asked (at start, or by a 'count' message).
let counting = workerData.countWrites;

// dynalite 4 ends a Query or Scan that stops early (a Limit, a page full) by destroying its read
// stream, which calls the LevelDB iterator's `return()`; abstract-level's iterators have none
// (they close with `close()`), so each such iterator stayed open, pinning LevelDB's memtable and
// files of its moment: tens of KB per query, GBs over a day of polling, and compaction working
// around dead snapshots. The iterators get the `return()` dynalite calls, and are counted while open.
// One copy of abstract-level serves LevelDB (classic-level) and memory-level alike.
const abstractLevel = createRequire(require.resolve('dynalite'))('abstract-level');
const iterators = new Set();
for (const kind of [abstractLevel.AbstractIterator, abstractLevel.AbstractKeyIterator, abstractLevel.AbstractValueIterator]) {
  const { close } = kind.prototype;
  kind.prototype.close = function (...args) {
    iterators.delete(this);
    return close.apply(this, args);
  };
  kind.prototype.return ??= function () {
    return this.close();
  };
}
for (const method of ['iterator', 'keys', 'values']) {
  const open = abstractLevel.AbstractLevel.prototype[method];
  abstractLevel.AbstractLevel.prototype[method] = function (...args) {
    const it = open.apply(this, args);
    iterators.add(it);
    return it;
  };
}

// A read from LevelDB without the thread pool. classic-level's asynchronous get takes a snapshot
// here, under the LevelDB mutex that writes in the thread pool hold, and then goes through the
// pool and back: measured at about 130 µs of this thread per read while writes run, some 13 reads
// an issuance. What dynalite reads (the items a write replaces, conditions' items, queries' pages)
// is in LevelDB's memtable or the page cache, where a synchronous read takes microseconds.
// Measured on this machine (2 cores), four pairs of runs each: issuance 104-116/s against 96-115/s,
// the durable SIEM path 1,970-1,990 events/s against 1,600-1,720.
const classicLevel = createRequire(require.resolve('dynalite'))('classic-level').ClassicLevel.prototype;
classicLevel._get = async function (key, options) {
  return this._getSync(key, options);
};

// dynalite reads the table's description from LevelDB, and decodes its JSON (some 3.5 KB with six
// indexes), once per call and again for every item a call writes: measured on the durable SIEM
// path, three reads of it per event, four fifths of the bytes LevelDB read. It changes only
// through CreateTable, UpdateTable and DeleteTable, so the decoded description is kept while none
// of them is at work:
// - while such a request is handled, nothing is kept or served from here (UpdateTable modifies the
//   object it read before it writes it back, or answers an error without writing it);
// - a write of a description's key (those actions' own, and the status changes they make after
//   answering) drops it, and nothing read while a write is in flight, or that began before one
//   ended, is kept: LevelDB may answer a read issued after a write with the value before it.
const TABLE_KEY_PREFIX = 'table~';
const TABLE_ACTIONS = ['CreateTable', 'UpdateTable', 'DeleteTable'];
const descriptions = new Map();
let tableChanges = 0;
// Writes begun or ended, and those in flight, of descriptions' keys.
let tableWrites = 0;
let tableWritesInFlight = 0;
const quiet = () => tableChanges === 0 && tableWritesInFlight === 0;
const isTableKey = (key) => typeof key === 'string' && key.startsWith(TABLE_KEY_PREFIX);
function writing(keys, write) {
  if (!keys.some(isTableKey)) return write();
  for (const key of keys) descriptions.delete(key);
  tableWrites++;
  tableWritesInFlight++;
  const ended = () => {
    tableWrites++;
    tableWritesInFlight--;
  };
  let result;
  try {
    result = write();
  } catch (err) {
    ended();
    throw err;
  }
  Promise.resolve(result).then(ended, ended);
  return result;
}
const level = abstractLevel.AbstractLevel.prototype;
const { get, put, del, batch } = level;
level.get = function (key, ...rest) {
  if (!isTableKey(key) || rest.length) return get.call(this, key, ...rest);
  if (quiet() && descriptions.has(key)) return Promise.resolve(descriptions.get(key));
  const writesBefore = tableWrites;
  return get.call(this, key).then((value) => {
    if (value !== undefined && quiet() && tableWrites === writesBefore) descriptions.set(key, value);
    return value;
  });
};
level.put = function (key, ...rest) {
  return writing([key], () => put.call(this, key, ...rest));
};
level.del = function (key, ...rest) {
  return writing([key], () => del.call(this, key, ...rest));
};
level.batch = function (operations, ...rest) {
  return writing(Array.isArray(operations) ? operations.map((o) => o.key) : [], () => batch.call(this, operations, ...rest));
};

const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

/** Calls `answered` when dynalite answers the request (res.end), before the answer goes. */
function whenAnswered(res, answered) {
  const { end } = res;
  res.end = function (...args) {
    res.end = end;
    answered();
    return end.apply(this, args);
  };
}

// Registered after dynalite's own handler, but that one only starts reading the body: the action
// runs once the body has come. The action is over when dynalite answers (res.end), which it does
// even for a client that went away meanwhile ('close' comes at the disconnect, before that).
server.on('request', (req, res) => {
  if (!TABLE_ACTIONS.includes(String(req.headers['x-amz-target'] ?? '').split('.').pop())) return;
  tableChanges++;
  descriptions.clear();
  tableWrites++;
  whenAnswered(res, () => {
    tableChanges--;
    tableWrites++;
  });
});

// What the table is asked, for the benchmarks: write calls and items (a batch counts each; those
// only the local stack writes, below, also apart) and
// their write request units (1 per KB of each item, rounded up per item), read calls, items
// returned and their read request units (strongly consistent: 1 per 4 KB, per item for Get and
// BatchGet, over the whole answer for Query), as DynamoDB on demand bills them. Item sizes are
// those of the JSON on the wire, a little above DynamoDB's own count. The units leave out the
// items only the local stack writes (the bus's DELIVERY ledger and the saga runner's EXEC#
// items): on AWS, EventBridge and Step Functions hold those.
const localOnly = (key) => key?.pk?.S === 'DELIVERY' || String(key?.pk?.S).startsWith('EXEC#');
const writes = { calls: 0, items: 0, localItems: 0, writeUnits: 0, readCalls: 0, readItems: 0, readUnits: 0 };
const KB = 1024;
const units = (bytes, size) => Math.max(1, Math.ceil(bytes / size));
server.on('request', (req, res) => {
  if (!counting) return;
  const target = String(req.headers['x-amz-target'] ?? '').split('.').pop();
  const write = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].includes(target);
  const read = ['GetItem', 'BatchGetItem', 'Query', 'Scan'].includes(target);
  if (!write && !read) return;
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  if (write) {
    writes.calls++;
    req.on('end', () => {
      // A malformed request is dynalite's to refuse; counting it must not end this thread.
      try {
        const input = JSON.parse(body);
        const items = target === 'BatchWriteItem'
          ? Object.values(input.RequestItems).flat().map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key)
          : [input.Item ?? input.Key];
        writes.items += items.length;
        writes.localItems += items.filter(localOnly).length;
        writes.writeUnits += items.filter((item) => !localOnly(item)).reduce((n, item) => n + units(JSON.stringify(item).length, KB), 0);
      } catch {
        // Not counted: the table takes nothing from it.
      }
    });
    return;
  }
  writes.readCalls++;
  const chunks = [];
  const { write: send, end } = res;
  res.write = function (chunk, ...rest) {
    if (chunk) chunks.push(Buffer.from(chunk));
    return send.call(this, chunk, ...rest);
  };
  res.end = function (chunk, ...rest) {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    try {
      const answer = JSON.parse(Buffer.concat(chunks).toString());
      const items = (answer.Item ? [answer.Item] : answer.Items ?? Object.values(answer.Responses ?? {}).flat()).filter((item) => !localOnly(item));
      writes.readItems += items.length;
      writes.readUnits += target === 'Query' || target === 'Scan'
        ? units(items.reduce((n, item) => n + JSON.stringify(item).length, 0), 4 * KB)
        : items.reduce((n, item) => n + units(JSON.stringify(item).length, 4 * KB), 0);
    } catch {
      // An error answer reads nothing.
    }
    return end.call(this, chunk, ...rest);
  };
});

// Requests from the stack's own thread come as messages on a channel (local/embedded-dynamodb.ts)
// rather than through the socket: the same 'request' the server emits for an HTTP request, with a
// request and a response holding what dynalite and the listeners above read and write of them.
function channelRequest({ method, path: url, headers, body }) {
  const req = new EventEmitter();
  req.method = method;
  req.url = url;
  req.headers = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
  // Every listener is attached before the body comes, as from a socket.
  setImmediate(() => {
    if (body.length) req.emit('data', Buffer.from(body));
    req.emit('end');
  });
  return req;
}
function channelResponse(answer) {
  const headers = {};
  const chunks = [];
  const chunk = (data) => (typeof data === 'string' ? data : Buffer.from(data).toString());
  return {
    statusCode: 200,
    setHeader: (name, value) => void (headers[name.toLowerCase()] = String(value)),
    getHeader: (name) => headers[name.toLowerCase()],
    write(data) {
      if (data) chunks.push(chunk(data));
      return true;
    },
    end(data) {
      if (data && typeof data !== 'function') chunks.push(chunk(data));
      answer({ statusCode: this.statusCode, headers, body: chunks.join('') });
    },
  };
}
let closing = false;
function serveChannel(port) {
  port.on('message', ({ id, request }) => {
    if (closing) return port.postMessage({ id, error: 'the embedded table is closing' });
    server.emit('request', channelRequest(request), channelResponse((response) => port.postMessage({ id, response })));
  });
}

// Requests being handled, from either door: the table closes only once each has its answer.
// dynalite's own close waits only for the LevelDB operations already started, and a request whose
// body comes after the close would find LevelDB closed and throw (ending this thread).
let handling = 0;
let allAnswered;
server.on('request', (req, res) => {
  handling++;
  let answered = false;
  const done = () => {
    if (answered) return;
    answered = true;
    if (--handling === 0) allAnswered?.();
  };
  whenAnswered(res, done);
  // A client that went away before its whole body came leaves nothing for dynalite to do.
  res.on?.('close', () => {
    if (!req.complete) done();
  });
});
/** How long a close waits for requests under way before it closes LevelDB anyway. */
const CLOSE_WAIT_MS = 10_000;
async function close() {
  closing = true;
  if (handling > 0) await new Promise((resolve) => {
    allAnswered = resolve;
    setTimeout(resolve, CLOSE_WAIT_MS).unref();
  });
  // Whatever keep-alive connection a client left would hold the server, and its LevelDB files, open.
  server.closeAllConnections();
  server.close(() => parentPort.postMessage({ closed: true }));
}

server.once('error', (err) => parentPort.postMessage({ error: err.message }));
server.listen(socketPath, async () => {
  await chmod(socketPath, 0o600);
  parentPort.postMessage({ listening: true });
});
parentPort.on('message', (message) => {
  if (message === 'writes') parentPort.postMessage({ writes });
  if (typeof message === 'object' && 'count' in message) {
    counting = Boolean(message.count);
    parentPort.postMessage({ counting });
  }
  if (message === 'iterators') parentPort.postMessage({ iterators: iterators.size });
  if (typeof message === 'object' && message.channel) serveChannel(message.channel);
  if (message === 'close') close();
});
