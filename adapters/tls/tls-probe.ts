import { connect as connectTcp, isIP } from 'node:net';
import { Duplex } from 'node:stream';
import { connect, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { servedCertificates, type HandshakeSecret } from './certificate-message.ts';

export interface ProbeResult {
  /** The served chain as DER, leaf first, in the order the server sent it. */
  chain: Buffer[];
  protocol?: string;
  cipher?: string;
}

export interface ProbeOptions {
  serverName?: string;
  timeoutMs: number;
  /** Offer only TLS 1.0 and 1.1 (to find servers that still accept them). */
  legacyOnly?: boolean;
}

/** A handshake's server flight fits well inside this; more is not a certificate chain worth reading. */
const MAX_CAPTURE_BYTES = 1 << 20;

/** A TCP connection as a plain stream, keeping a copy of what the server sends until `stop()`. */
function capturingConnection(host: string, port: number) {
  const tcp = connectTcp({ host, port });
  const received: Buffer[] = [];
  let size = 0;
  let capturing = true;
  const stream = new Duplex({
    read() {},
    write(chunk, _encoding, done) { tcp.write(chunk, done); },
    final(done) { tcp.end(); done(); },
    destroy(err, done) { tcp.destroy(); done(err); },
  });
  tcp.on('data', (data: Buffer) => {
    if (capturing && size + data.length <= MAX_CAPTURE_BYTES) {
      received.push(data);
      size += data.length;
    }
    stream.push(data);
  });
  tcp.on('end', () => stream.push(null));
  tcp.on('error', (err) => stream.destroy(err));
  return { stream, received: () => { capturing = false; return Buffer.concat(received); } };
}

/** The chain as Node links it by issuer: the fallback when the server's own Certificate message cannot be read. */
function linkedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<DetailedPeerCertificate>();
  for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    chain.push(c.raw);
  }
  return chain;
}

/**
 * One TLS handshake with a server, taking the chain exactly as it was served (leaf first, in the
 * server's order, as RFC 5246 7.4.2 and RFC 8446 4.4.2 carry it); trust is judged afterwards, not here.
 * @throws the connection's error (ECONNREFUSED, ECONNRESET, ...) or a timeout after `timeoutMs`.
 */
export function probeTls(host: string, port: number, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const connection = capturingConnection(host, port);
    const socket = connect({
      socket: connection.stream,
      // SNI carries host names only (RFC 6066 3): an address is sent without it.
      servername: options.serverName && !isIP(options.serverName) ? options.serverName : undefined,
      rejectUnauthorized: false,
      ...(options.legacyOnly ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    });
    let serverHandshakeTrafficSecret: Buffer | undefined;
    socket.on('keylog', (line: Buffer) => {
      const [label, , secret] = line.toString('latin1').trim().split(' ');
      if (label === 'SERVER_HANDSHAKE_TRAFFIC_SECRET') serverHandshakeTrafficSecret = Buffer.from(secret, 'hex');
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${options.timeoutMs} ms`)), options.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cipher = socket.getCipher();
      const secret: HandshakeSecret | undefined = serverHandshakeTrafficSecret && { cipherSuite: cipher.standardName, serverHandshakeTrafficSecret };
      let chain: Buffer[];
      try {
        chain = servedCertificates(connection.received(), secret);
      } catch {
        chain = linkedChain(socket);
      }
      const result = { chain, protocol: socket.getProtocol() ?? undefined, cipher: cipher.name };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
