import { createHmac, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { UpstreamError, ValidationError } from '../../shared/errors.ts';
import type { DnsTxtRecords } from '../../shared/ports.ts';

/** A TSIG key (RFC 8945): its name, HMAC algorithm and base64 secret, as `tsig-keygen` prints them. */
export interface TsigKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  secret: string;
}

const TIMEOUT_MS = 10_000;
/** RFC 8945 5.2.3: the server accepts a signature made within this many seconds of its clock. */
const FUDGE_S = 300;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

/** A domain name in wire form, lowercased (RFC 8945 4.3.3: the canonical form TSIG signs). */
function wireName(name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

const uint = (value: number, bytes: number) => {
  const b = Buffer.alloc(bytes);
  b.writeUIntBE(value, 0, bytes);
  return b;
};

/** DNS classes of an update's records (RFC 2136 2.5): IN adds a record, NONE deletes that one record. */
const CLASS = { IN: 1, NONE: 254 } as const;

/** One TXT record of an update section, in wire form, holding `value` as its one string (at most 255 bytes: an ACME digest is 43). */
function txtRecord(name: string, value: string, klass: keyof typeof CLASS, ttl: number): Buffer {
  const text = Buffer.from(value, 'utf8');
  if (text.length > 255) throw new ValidationError(`a TXT string holds at most 255 bytes (RFC 1035 3.3), not ${text.length}`, 'value');
  const rdata = Buffer.concat([Buffer.from([text.length]), text]);
  return Buffer.concat([wireName(name), uint(16, 2), uint(CLASS[klass], 2), uint(ttl, 4), uint(rdata.length, 2), rdata]);
}

/**
 * Signs a DNS message with TSIG (RFC 8945 4.3): the MAC covers the message as it is (before the
 * TSIG record) and the TSIG variables; the record carrying it is added last.
 */
export function tsigSigned(message: Buffer, id: number, key: TsigKey, now: Date): Buffer {
  const algorithm = wireName(key.algorithm);
  const timeSigned = uint(Math.floor(now.getTime() / 1000), 6);
  const variables = Buffer.concat([wireName(key.name), uint(255, 2), uint(0, 4), algorithm, timeSigned, uint(FUDGE_S, 2), uint(0, 2), uint(0, 2)]);
  const mac = createHmac(key.algorithm.slice(5), Buffer.from(key.secret, 'base64')).update(Buffer.concat([message, variables])).digest();
  const rdata = Buffer.concat([algorithm, timeSigned, uint(FUDGE_S, 2), uint(mac.length, 2), mac, uint(id, 2), uint(0, 2), uint(0, 2)]);
  const record = Buffer.concat([wireName(key.name), uint(250, 2), uint(255, 2), uint(0, 4), uint(rdata.length, 2), rdata]);
  const signed = Buffer.concat([message, record]);
  // ARCOUNT counts the TSIG record now.
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return signed;
}

/**
 * TXT records through RFC 2136 dynamic updates, signed with TSIG, sent over TCP to the zone's
 * primary: what dns-01 needs on premises (BIND, Knot, PowerDNS, Windows DNS take them).
 * Removing deletes that one record (RFC 2136 2.5.4), so another order's value at the same name
 * stays until that order is done. UpstreamError with the server's RCODE when it refuses.
 */
export class Rfc2136TxtRecords implements DnsTxtRecords {
  constructor(private readonly server: { host: string; port: number }, private readonly zone: string, private readonly key: () => Promise<TsigKey>, private readonly now: () => Date) {}

  put(name: string, value: string): Promise<void> {
    return this.update(txtRecord(name, value, 'IN', 60));
  }

  remove(name: string, value: string): Promise<void> {
    return this.update(txtRecord(name, value, 'NONE', 0));
  }

  private async update(record: Buffer): Promise<void> {
    const id = randomInt(0, 65536);
    // RFC 2136 2: the zone section names the zone (type SOA); the update section (counted where
    // NSCOUNT is) what changes, written here: dns-packet has no class NONE.
    const header = dnsPacket.encode({ type: 'query', id, flags: 5 << 11, questions: [{ type: 'SOA', name: this.zone, class: 'IN' }] });
    header.writeUInt16BE(1, 8);
    const message = Buffer.concat([header, record]);
    const answer = await this.exchange(tsigSigned(message, id, await this.key(), this.now()));
    if (answer.length < 12) throw new UpstreamError(`DNS server ${this.server.host}:${this.server.port} answered ${answer.length} bytes, not a DNS message`, 'dns');
    const rcode = answer.readUInt16BE(2) & 0x0f;
    if (answer.readUInt16BE(0) !== id) throw new UpstreamError(`DNS server ${this.server.host}:${this.server.port} answered another message`, 'dns');
    if (rcode !== 0) throw new UpstreamError(`DNS server ${this.server.host}:${this.server.port} refused the update of zone ${this.zone}: ${RCODES[rcode] ?? rcode}`, 'dns');
  }

  /** One message over TCP, each way prefixed with its length (RFC 1035 4.2.2). */
  private exchange(message: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.server.port, this.server.host);
      let received = Buffer.alloc(0);
      socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new UpstreamError(`DNS server ${this.server.host}:${this.server.port} did not answer within ${TIMEOUT_MS / 1000} s`, 'dns')));
      socket.on('connect', () => socket.end(Buffer.concat([uint(message.length, 2), message])));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
          socket.destroy();
          resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
        }
      });
      socket.on('error', (err) => reject(err instanceof UpstreamError ? err : new UpstreamError(`could not reach DNS server ${this.server.host}:${this.server.port} (${(err as NodeJS.ErrnoException).code ?? err.message})`, 'dns')));
      socket.on('close', () => reject(new UpstreamError(`DNS server ${this.server.host}:${this.server.port} closed the connection without an answer`, 'dns')));
    });
  }
}
