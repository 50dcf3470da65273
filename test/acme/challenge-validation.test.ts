import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkChallengeValidator } from '../../adapters/acme/challenge-validation.ts';
import { ChallengeFailure } from '../../shared/acme-server.ts';

/** The ACME server's own validation (RFC 8555 8.3), against servers that misbehave. */
describe('challenge validation', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
  });
  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return (server.address() as AddressInfo).port;
  };
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (err) => err as ChallengeFailure);

  it('does not validate at loopback, link-local or metadata addresses unless the settings allow loopback (a test bench)', async () => {
    const port = await serve((_req, res) => res.end('token.thumb'));
    const refused = await failure(new NetworkChallengeValidator({ http01Port: port, tlsAlpn01Port: 443 }).validate('http-01', 'localhost', 'token', 'token.thumb'));
    expect(refused).toBeInstanceOf(ChallengeFailure);
    expect(refused!.message).toMatch(/loopback, link-local, metadata or unspecified/);
    await new NetworkChallengeValidator({ http01Port: port, tlsAlpn01Port: 443, allowLoopback: true }).validate('http-01', 'localhost', 'token', 'token.thumb');
    // Cloud metadata services outside link-local: AWS's IPv6 one, Alibaba Cloud's.
    for (const metadata of ['fd00:ec2::254', '100.100.100.200', '169.254.169.254']) {
      const blocked = await failure(new NetworkChallengeValidator({ http01Port: port, tlsAlpn01Port: 443 }).validate('http-01', metadata, 'token', 'token.thumb'));
      expect(blocked!.message, metadata).toMatch(/metadata or unspecified address certops does not validate at/);
    }
  });

  it('gives a server that answers slowly its deadline in all, and never tells what a server answered instead of the key authorization', async () => {
    const slow = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // One byte a while: each read is quick, the whole never ends.
      const drip = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(drip));
    });
    const started = Date.now();
    const late = await failure(new NetworkChallengeValidator({ http01Port: slow, tlsAlpn01Port: 443, allowLoopback: true }, 800).validate('http-01', 'localhost', 'token', 'token.thumb'));
    expect(late?.problemType).toBe('connection');
    expect(Date.now() - started).toBeLessThan(3000);
    const secret = await serve((_req, res) => res.end('INTERNAL-ADMIN secret=hunter2'));
    const wrong = await failure(new NetworkChallengeValidator({ http01Port: secret, tlsAlpn01Port: 443, allowLoopback: true }).validate('http-01', 'localhost', 'token', 'token.thumb'));
    expect(wrong?.problemType).toBe('incorrectResponse');
    expect(wrong!.message).not.toMatch(/hunter2|INTERNAL/);
  });

  it('reports a server that breaks off its answer as a connection problem, not an error of its own', async () => {
    const port = await serve((req, res) => {
      res.writeHead(200, { 'content-length': '500' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 50);
    });
    const broken = await failure(new NetworkChallengeValidator({ http01Port: port, tlsAlpn01Port: 443, allowLoopback: true }).validate('http-01', 'localhost', 'token', 'token.thumb'));
    expect(broken).toBeInstanceOf(ChallengeFailure);
    expect(broken?.problemType).toBe('connection');
  });
});
