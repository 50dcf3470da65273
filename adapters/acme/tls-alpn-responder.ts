import { generateKeyPairSync } from 'node:crypto';
import { createSecureContext, createServer, type SecureContext, type Server } from 'node:tls';
import type * as acme from 'acme-client';
import type { AcmeChallengeAnswers, Clock } from '../../shared/ports.ts';
import { acmeLibrary } from './acme-authority.ts';

/** The ALPN protocol of a tls-alpn-01 validation (RFC 8737 6.2): the only one this server speaks. */
const ACME_TLS = 'acme-tls/1';

/** Validation certificates kept made, by key authorization: a CA connects a few times per challenge (multi-perspective). */
const KEPT = 64;

export interface TlsAlpnResponder {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Answers tls-alpn-01 validations (RFC 8737) for the ACME issuers certops orders from: a TLS
 * server that speaks only ALPN `acme-tls/1` and, for the SNI name whose answer is in `answers`,
 * presents a self-signed certificate naming it with the critical acmeIdentifier extension (the
 * SHA-256 of the key authorization, RFC 8737 3). A handshake offering other protocols, or for
 * another name, fails; a client that offers no ALPN at all is not told apart (Node's TLS server
 * chooses a protocol only among those offered) and gets that self-signed certificate, which proves
 * nothing to it. Nothing is exchanged after the handshake (RFC 8737 3: the CA closes the
 * connection). `port` 0 takes a free one.
 */
export async function startTlsAlpnResponder(answers: AcmeChallengeAnswers, clock: Clock, port: number, host = '127.0.0.1'): Promise<TlsAlpnResponder> {
  // One key for every validation certificate: it proves nothing itself (the extension does).
  const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const contexts = new Map<string, Promise<SecureContext>>();
  const contextFor = (name: string, keyAuthorization: string) => {
    const kept = `${name}\n${keyAuthorization}`;
    let context = contexts.get(kept);
    if (!context) {
      context = acmeLibrary()
        .then(({ crypto }) => crypto.createAlpnCertificate({ identifier: { type: 'dns', value: name } } as acme.Authorization, keyAuthorization, keyPem))
        .then(([key, cert]) => createSecureContext({ key, cert }));
      contexts.set(kept, context);
      if (contexts.size > KEPT) contexts.delete(contexts.keys().next().value!);
    }
    return context;
  };
  const server: Server = createServer({
    ALPNCallback: ({ protocols }) => (protocols.includes(ACME_TLS) ? ACME_TLS : undefined),
    SNICallback: (servername, done) => {
      const name = servername.toLowerCase();
      answers.get(name, clock.now())
        .then((keyAuthorization) => (keyAuthorization ? contextFor(name, keyAuthorization) : Promise.reject(new Error(`no tls-alpn-01 answer for ${name}`))))
        .then((context) => done(null, context), (err: Error) => done(err));
    },
  }, (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  server.on('connection', (socket) => socket.setTimeout(10_000, () => socket.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    host,
    port: (server.address() as { port: number }).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
