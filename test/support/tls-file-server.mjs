// A TLS server like nginx for tests: serves cert.pem/privkey.pem (plus chain.pem) from a directory
// and reloads them on SIGHUP. Usage: node tls-file-server.mjs DIR; prints "listening PORT".
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';

const dir = process.argv[2];
const context = () => {
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  let chain = '';
  try {
    chain = readFileSync(join(dir, 'chain.pem'), 'utf8');
  } catch {}
  return { cert: cert.trimEnd() + '\n' + chain, key: readFileSync(join(dir, 'privkey.pem')) };
};
const server = createServer(context(), (socket) => socket.end('hello\n'));
server.on('tlsClientError', () => {});
process.on('SIGHUP', () => {
  try {
    server.setSecureContext(context());
    process.stdout.write('reloaded\n');
  } catch (err) {
    process.stdout.write(`reload failed: ${err.message}\n`);
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
