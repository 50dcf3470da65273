import { connect } from 'node:tls';

export interface Served {
  fingerprintSha256: string;
  protocol?: string;
  /** Certificates the server sent after the leaf, as fingerprints. */
  chain: string[];
}

/** One TLS handshake: what the endpoint serves for `serverName`. Trust is judged by the caller, not here. */
export function servedCertificate(host: string, port: number, serverName: string, timeoutMs = 5000): Promise<Served> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: serverName, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const peer = socket.getPeerCertificate(true);
      const chain: string[] = [];
      for (let c = peer.issuerCertificate; c && c !== c.issuerCertificate && chain.length < 10; c = c.issuerCertificate) chain.push(c.fingerprint256);
      const result = { fingerprintSha256: peer.fingerprint256, protocol: socket.getProtocol() ?? undefined, chain };
      socket.end();
      resolve(result);
    });
    socket.on('timeout', () => socket.destroy(new Error(`TLS handshake with ${host}:${port} timed out after ${timeoutMs} ms`)));
    socket.on('error', reject);
  });
}
