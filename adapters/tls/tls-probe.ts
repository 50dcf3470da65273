import { connect, type DetailedPeerCertificate } from 'node:tls';

export interface ProbeResult {
  /** The served chain as DER, leaf first, as the server sent it (without repeating a self-signed root). */
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

/** One TLS handshake with a server, taking the chain it serves; trust is judged afterwards, not here. */
export function probeTls(host: string, port: number, options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: options.serverName,
      rejectUnauthorized: false,
      ...(options.legacyOnly ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${options.timeoutMs} ms`)), options.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const chain: Buffer[] = [];
      const seen = new Set<DetailedPeerCertificate>();
      for (let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true); c?.raw && !seen.has(c); c = c.issuerCertificate) {
        seen.add(c);
        chain.push(c.raw);
      }
      const result = { chain, protocol: socket.getProtocol() ?? undefined, cipher: socket.getCipher()?.name };
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
