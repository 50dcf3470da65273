// The embedded table in a thread of its own (plain JavaScript: a worker thread runs without the
// TypeScript loader). dynalite's request handling and LevelDB work take about a third of the CPU
// of an issuance; here they run beside the stack's thread instead of in it.
import { chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite');
const { socketPath, path, countWrites } = workerData;
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });

// Writes the table takes, for the issuance benchmark: calls, and items (a batch counts each).
const writes = { calls: 0, items: 0 };
if (countWrites) {
  server.on('request', (req) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    if (!/PutItem|UpdateItem|DeleteItem|BatchWriteItem/.test(target)) return;
    writes.calls++;
    if (!target.endsWith('BatchWriteItem')) return void writes.items++;
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => (writes.items += Object.values(JSON.parse(body).RequestItems).reduce((n, r) => n + r.length, 0)));
  });
}

server.once('error', (err) => parentPort.postMessage({ error: err.message }));
server.listen(socketPath, async () => {
  await chmod(socketPath, 0o600);
  parentPort.postMessage({ listening: true });
});
parentPort.on('message', (message) => {
  if (message === 'writes') parentPort.postMessage({ writes });
  if (message === 'close') {
    // Whatever keep-alive connection a client left would hold the server, and its LevelDB files, open.
    server.closeAllConnections();
    server.close(() => parentPort.postMessage({ closed: true }));
  }
});
