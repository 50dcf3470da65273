import { createHash } from 'node:crypto';
import type { LogEntry } from '../../shared/ports.ts';
import { LogHttp } from './log-http.ts';

/**
 * A log speaking the C2SP static-ct-api (Let's Encrypt's current logs): a signed checkpoint,
 * level-0 hash tiles and data tiles (partial at the right edge), read into the same shapes the
 * RFC 6962 client gives, so one verified poll serves both.
 */
export class StaticCtClient {
  /** Issuer certificates by fingerprint: a log has few, and every entry names one. */
  private readonly issuers = new Map<string, Buffer>();

  constructor(readonly prefix: string, private readonly http = new LogHttp(), private readonly origin?: string) {}

  private url(path: string): string {
    return `${this.prefix.replace(/\/$/, '')}/${path}`;
  }

  private async get(path: string): Promise<Buffer> {
    return Buffer.from(await (await this.http.get(this.url(path))).arrayBuffer());
  }

  /**
   * The checkpoint as an RFC 6962 tree head: a signed note whose RFC 6962 signature line carries
   * the key id (4 bytes), the timestamp (8) and the TLS DigitallySigned over the tree head.
   * Undefined when the note is malformed or has no signature from the log's key.
   */
  async getSth(keyBase64?: string): Promise<Record<string, unknown>> {
    const text = (await this.get('checkpoint')).toString('utf8');
    const [body, sigs] = text.split('\n\n');
    const [origin, size, root] = body.split('\n');
    if (this.origin && origin !== this.origin) return {};
    const keyId = keyBase64 ? createHash('sha256').update(Buffer.concat([Buffer.from(`${origin}\n\x05`), Buffer.from(keyBase64, 'base64')])).digest().subarray(0, 4) : undefined;
    for (const line of (sigs ?? '').split('\n')) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== origin) continue;
      const sig = Buffer.from(m[2], 'base64');
      if (keyId && !sig.subarray(0, 4).equals(keyId)) continue;
      return { tree_size: Number(size), timestamp: Number(sig.readBigUInt64BE(4)), sha256_root_hash: root, tree_head_signature: sig.subarray(12).toString('base64') };
    }
    return {};
  }

  /** Tile index as path: 3-digit groups, all but the last prefixed with x (static-ct-api). */
  static tilePath(n: number): string {
    const groups: string[] = [];
    do {
      groups.unshift(String(n % 1000).padStart(3, '0'));
      n = Math.floor(n / 1000);
    } while (n > 0);
    return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  }

  /** A tile's name; the last one of a level is partial, its width what the tree of `treeSize` has there. */
  private tileName(kind: string, tile: number, treeSize: number, level = 0): string {
    const width = Math.min(256, Math.floor(treeSize / 256 ** level) - tile * 256);
    return `tile/${kind}/${StaticCtClient.tilePath(tile)}${width < 256 ? `.p/${width}` : ''}`;
  }

  /**
   * Entries start..end as MerkleTreeLeaf bytes, read from the data tiles of a tree of `treeSize`
   * (each tile leaf: a TimestampedEntry, the precertificate for precert entries, then the chain's fingerprints).
   */
  async getEntriesOf(start: number, end: number, treeSize: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for (let tile = Math.floor(start / 256); tile * 256 <= end; tile++) {
      const data = await this.get(this.tileName('data', tile, treeSize));
      let at = 0;
      for (let i = tile * 256; at < data.length; i++) {
        const entryStart = at;
        const type = data.readUInt16BE(at + 8);
        at += 10;
        if (type === 1) at += 32;
        at += 3 + data.readUIntBE(at, 3); // certificate or TBS
        at += 2 + data.readUInt16BE(at); // extensions
        const timestamped = data.subarray(entryStart, at);
        if (type === 1) at += 3 + data.readUIntBE(at, 3); // the precertificate itself
        const chain = data.subarray(at + 2, at + 2 + data.readUInt16BE(at)); // fingerprints, issuer first
        at += 2 + chain.length;
        if (i >= start && i <= end) out.push({ leafInput: Buffer.concat([Buffer.from([0, 0]), timestamped]), ...(chain.length >= 32 ? { issuerFingerprint: chain.subarray(0, 32) } : {}) });
      }
    }
    return out;
  }

  /** The issuer certificate a chain fingerprint names; refused unless it hashes to that fingerprint. */
  async getIssuer(fingerprint: Buffer): Promise<Buffer> {
    const hex = fingerprint.toString('hex');
    let der = this.issuers.get(hex);
    if (!der) {
      der = await this.get(`issuer/${hex}`);
      if (!createHash('sha256').update(der).digest().equals(fingerprint)) throw new Error(`issuer/${hex} does not hash to its fingerprint`);
      this.issuers.set(hex, der);
    }
    return der;
  }

  /** Hashes start..end of one level of the hash tiles of a tree of `treeSize`. */
  async tileHashesOf(level: number, start: number, end: number, treeSize: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let tile = Math.floor(start / 256); tile * 256 <= end; tile++) {
      const hashes = await this.get(this.tileName(String(level), tile, treeSize, level));
      for (let k = 0; k * 32 < hashes.length; k++) {
        const i = tile * 256 + k;
        if (i >= start && i <= end) out.push(hashes.subarray(k * 32, k * 32 + 32));
      }
    }
    return out;
  }
}
