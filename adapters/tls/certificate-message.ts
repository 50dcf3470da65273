import { createDecipheriv, createHmac, type CipherGCMTypes } from 'node:crypto';

/**
 * The certificate_list of the server's Certificate handshake message, read from the bytes the server
 * sent, in the order it sent them. Node's `getPeerCertificate(true)` re-links certificates by issuer
 * and stops at the first it cannot link, so it cannot say what a server actually serves.
 *
 * TLS 1.0 to 1.2 send the message in clear (RFC 5246 7.4.2). TLS 1.3 encrypts it under the server
 * handshake traffic secret (RFC 8446 7.1, 7.3, 5.2), which the client logs (NSS key log format).
 */

/** What a TLS 1.3 handshake needs to read the server's encrypted handshake records. */
export interface HandshakeSecret {
  /** The negotiated cipher suite's IANA name, e.g. `TLS_AES_128_GCM_SHA256`. */
  cipherSuite: string;
  /** SERVER_HANDSHAKE_TRAFFIC_SECRET from the client's key log. */
  serverHandshakeTrafficSecret: Buffer;
}

const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const CERTIFICATE = 11;
const SUITES: Record<string, { cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'; hash: 'sha256' | 'sha384'; keyLength: number }> = {
  TLS_AES_128_GCM_SHA256: { cipher: 'aes-128-gcm', hash: 'sha256', keyLength: 16 },
  TLS_AES_256_GCM_SHA384: { cipher: 'aes-256-gcm', hash: 'sha384', keyLength: 32 },
  TLS_CHACHA20_POLY1305_SHA256: { cipher: 'chacha20-poly1305', hash: 'sha256', keyLength: 32 },
};

/** Thrown when the captured bytes do not hold a readable Certificate message. */
export class CertificateMessageError extends Error {}

interface TlsRecord {
  type: number;
  header: Buffer;
  fragment: Buffer;
}

function* records(bytes: Buffer): Generator<TlsRecord> {
  for (let at = 0; at + 5 <= bytes.length;) {
    const length = bytes.readUInt16BE(at + 3);
    if (at + 5 + length > bytes.length) return;
    yield { type: bytes[at], header: bytes.subarray(at, at + 5), fragment: bytes.subarray(at + 5, at + 5 + length) };
    at += 5 + length;
  }
}

/** HKDF-Expand-Label for outputs no longer than one hash block (RFC 8446 7.1, RFC 5869 2.3). */
function expandLabel(secret: Buffer, label: string, length: number, hash: string): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  return createHmac(hash, secret).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, length);
}

/** The handshake bytes of TLS 1.3's encrypted records, in order, until the stream ends or a record does not decrypt. */
function decryptedHandshake(bytes: Buffer, secret: HandshakeSecret): Buffer {
  const suite = SUITES[secret.cipherSuite];
  if (!suite) throw new CertificateMessageError(`cannot read handshake records under ${secret.cipherSuite}`);
  const key = expandLabel(secret.serverHandshakeTrafficSecret, 'key', suite.keyLength, suite.hash);
  const iv = expandLabel(secret.serverHandshakeTrafficSecret, 'iv', 12, suite.hash);
  const out: Buffer[] = [];
  let sequence = 0n;
  for (const record of records(bytes)) {
    if (record.type !== APPLICATION_DATA) continue;
    const nonce = Buffer.from(iv);
    for (let i = 0, s = sequence; i < 8; i++, s >>= 8n) nonce[11 - i] ^= Number(s & 0xffn);
    sequence++;
    // ChaCha20-Poly1305 takes the same AEAD options; Node's types merely give it an overload of its own.
    const decipher = createDecipheriv(suite.cipher as CipherGCMTypes, key, nonce, { authTagLength: 16 });
    decipher.setAAD(record.header);
    decipher.setAuthTag(record.fragment.subarray(-16));
    let inner: Buffer;
    try {
      inner = Buffer.concat([decipher.update(record.fragment.subarray(0, -16)), decipher.final()]);
    } catch {
      break; // past the handshake: records under the application traffic keys
    }
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (inner[end] === HANDSHAKE) out.push(inner.subarray(0, end));
  }
  return Buffer.concat(out);
}

/**
 * The server's certificates, leaf first, exactly as sent.
 * @param received every byte the server sent during the handshake.
 * @param secret for TLS 1.3; absent for TLS 1.2 and earlier.
 * @throws CertificateMessageError when no complete Certificate message is found.
 */
export function servedCertificates(received: Buffer, secret?: HandshakeSecret): Buffer[] {
  const handshake = secret
    ? decryptedHandshake(received, secret)
    : Buffer.concat([...records(received)].filter((r) => r.type === HANDSHAKE).map((r) => r.fragment));
  for (let at = 0; at + 4 <= handshake.length;) {
    const type = handshake[at];
    const length = handshake.readUIntBE(at + 1, 3);
    const body = handshake.subarray(at + 4, at + 4 + length);
    if (body.length < length) break;
    if (type === CERTIFICATE) return certificateList(body, secret !== undefined);
    at += 4 + length;
  }
  throw new CertificateMessageError('no Certificate message in the server handshake');
}

/** certificate_list: 24-bit lengths; TLS 1.3 adds a request context before and extensions after each entry (RFC 8446 4.4.2). */
function certificateList(body: Buffer, tls13: boolean): Buffer[] {
  let at = tls13 ? 1 + body[0] : 0;
  const end = at + 3 + body.readUIntBE(at, 3);
  if (end > body.length) throw new CertificateMessageError('certificate_list runs past the Certificate message');
  at += 3;
  const out: Buffer[] = [];
  while (at < end) {
    const length = body.readUIntBE(at, 3);
    out.push(Buffer.from(body.subarray(at + 3, at + 3 + length)));
    at += 3 + length;
    if (tls13) at += 2 + body.readUInt16BE(at);
  }
  if (at !== end) throw new CertificateMessageError('a certificate entry runs past certificate_list');
  return out;
}
