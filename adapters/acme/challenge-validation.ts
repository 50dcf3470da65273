import { createHash } from 'node:crypto';
import { lookup, Resolver } from 'node:dns/promises';
import { request } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { connect } from 'node:tls';
import { ChallengeFailure, type AcmeChallengeType, type ChallengeValidator } from '../../shared/acme-server.ts';
import type { AcmeValidationSettings } from '../../shared/acme-server-config.ts';
import { extensionEntries } from '../../shared/x509/extensions.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { children, readTlv } from '../../shared/x509/der.ts';

/** Each validation's time, in all (RFC 8555 leaves it to the server; Let's Encrypt's is similar). */
const TIMEOUT_MS = 10_000;
/** A key authorization is about 87 characters: a response far larger is not one. */
const MAX_RESPONSE = 8 * 1024;
/** id-pe-acmeIdentifier (RFC 8737 3). */
const ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';

/**
 * Loopback, link-local (most cloud metadata services among them), unspecified addresses, and the
 * metadata services outside link-local: AWS's IPv6 one (fd00:ec2::254) and Alibaba Cloud's.
 */
const UNREACHABLE = new BlockList();
for (const [net, bits] of [['127.0.0.0', 8], ['169.254.0.0', 16], ['0.0.0.0', 8], ['100.100.100.200', 32]] as const) UNREACHABLE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::1', 128], ['fe80::', 10], ['::', 128], ['::ffff:127.0.0.0', 104], ['::ffff:169.254.0.0', 112], ['::ffff:100.100.100.200', 128], ['fd00:ec2::254', 128]] as const) UNREACHABLE.addSubnet(net, bits, 'ipv6');

const digest = (keyAuthorization: string) => createHash('sha256').update(keyAuthorization).digest();

/**
 * Validates challenges where each name points, as RFC 8555 8.3 (http-01), 8.4 (dns-01) and RFC
 * 8737 (tls-alpn-01) say: names and TXT records are resolved with `dnsResolver` when the settings
 * name one (an internal DNS server), else the system's. Redirects are not followed.
 */
export class NetworkChallengeValidator implements ChallengeValidator {
  private readonly resolver?: Resolver;

  /** `timeoutMs`: each validation's time in all. */
  constructor(private readonly settings: AcmeValidationSettings, private readonly timeoutMs = TIMEOUT_MS) {
    if (settings.dnsResolver) {
      this.resolver = new Resolver({ timeout: 3000, tries: 2 });
      this.resolver.setServers([settings.dnsResolver]);
    }
  }

  /** At most `timeoutMs` in all (resolving, connecting, reading): a client's slow server holds nothing longer. */
  async validate(type: AcmeChallengeType, name: string, token: string, keyAuthorization: string): Promise<void> {
    // One deadline: it answers the caller and closes whatever connection is still open.
    const deadline = new AbortController();
    const work = type === 'dns-01'
      ? this.dns01(name, keyAuthorization)
      : this.address(name).then((address) => (type === 'http-01' ? this.http01(name, address, token, keyAuthorization, deadline.signal) : this.tlsAlpn01(name, address, keyAuthorization, deadline.signal)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort();
        reject(new ChallengeFailure('connection', `validating ${name} took over ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async address(name: string): Promise<string> {
    let address: string;
    try {
      if (!this.resolver) address = (await lookup(name)).address;
      else {
        const v4 = await this.resolver.resolve4(name).catch(() => []);
        address = (v4.length ? v4 : await this.resolver.resolve6(name))[0];
      }
    } catch (err) {
      throw new ChallengeFailure('dns', `${name} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    // An internal CA reaches private networks by design; the host itself, link-local addresses and cloud metadata services are not names anyone is issued for.
    if (!this.settings.allowLoopback && UNREACHABLE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')) throw new ChallengeFailure('dns', `${name} resolves to ${address}, a loopback, link-local, metadata or unspecified address certops does not validate at`);
    return address;
  }

  private http01(name: string, address: string, token: string, keyAuthorization: string, signal: AbortSignal): Promise<void> {
    const port = this.settings.http01Port;
    const url = `http://${name}${port === 80 ? '' : `:${port}`}/.well-known/acme-challenge/${token}`;
    return new Promise((resolve, reject) => {
      const req = request({ host: address, port, path: `/.well-known/acme-challenge/${token}`, headers: { host: `${name}${port === 80 ? '' : `:${port}`}`, 'user-agent': 'certops-acme-validation' }, signal }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > MAX_RESPONSE) req.destroy(new ChallengeFailure('incorrectResponse', `${url} answered more than ${MAX_RESPONSE} bytes`));
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new ChallengeFailure('incorrectResponse', `${url} answered ${res.statusCode}, not 200 with the key authorization`));
          // RFC 8555 8.3: trailing whitespace is allowed. What else it answered is not told: the server may not be the client's.
          if (body.trimEnd() !== keyAuthorization) return reject(new ChallengeFailure('incorrectResponse', `${url} answered ${body.length} bytes that are not the key authorization`));
          resolve();
        });
        res.on('error', (err) => reject(new ChallengeFailure('connection', `${url} broke off its answer (${err.message})`)));
      });
      req.on('error', (err) => reject(err instanceof ChallengeFailure ? err : new ChallengeFailure('connection', `could not fetch ${url}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      req.end();
    });
  }

  private async dns01(name: string, keyAuthorization: string): Promise<void> {
    const record = `_acme-challenge.${name}`;
    let values: string[];
    try {
      values = (await (this.resolver ?? new Resolver({ timeout: 3000, tries: 2 })).resolveTxt(record)).map((chunks) => chunks.join(''));
    } catch (err) {
      throw new ChallengeFailure('dns', `no TXT record at ${record} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const expected = digest(keyAuthorization).toString('base64url');
    if (!values.includes(expected)) throw new ChallengeFailure('incorrectResponse', `the TXT records at ${record} hold no ${expected} (found ${values.length})`);
  }

  private tlsAlpn01(name: string, address: string, keyAuthorization: string, signal: AbortSignal): Promise<void> {
    const where = `${name} (${address}:${this.settings.tlsAlpn01Port})`;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address, port: this.settings.tlsAlpn01Port, servername: name, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false }, () => {
        try {
          if (socket.alpnProtocol !== 'acme-tls/1') throw new ChallengeFailure('tls', `${where} did not negotiate acme-tls/1`);
          checkValidationCertificate(socket.getPeerCertificate().raw, name, keyAuthorization);
          resolve();
        } catch (err) {
          reject(err instanceof ChallengeFailure ? err : new ChallengeFailure('tls', `${where}: ${(err as Error).message}`));
        } finally {
          socket.destroy();
        }
      });
      signal.addEventListener('abort', () => socket.destroy(), { once: true });
      socket.on('error', (err) => reject(err instanceof ChallengeFailure ? err : new ChallengeFailure('tls', `${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    });
  }
}

/** RFC 8737 3: the certificate names exactly `name` and carries the critical acmeIdentifier extension with SHA-256 of the key authorization. */
function checkValidationCertificate(der: Buffer | undefined, name: string, keyAuthorization: string): void {
  if (!der) throw new ChallengeFailure('tls', 'no certificate was served');
  const cert = parseCertificate(der, 'validation certificate');
  const sans = [...cert.extensions.san.dns, ...cert.extensions.san.ip];
  if (sans.length !== 1 || sans[0].toLowerCase() !== name) throw new ChallengeFailure('incorrectResponse', `the validation certificate names ${sans.join(', ') || 'nothing'}, not exactly ${name}`);
  const list = extensionsOf(cert.tbsDer);
  const entry = list.find((e) => e.id === ACME_IDENTIFIER);
  if (!entry?.critical) throw new ChallengeFailure('incorrectResponse', 'the validation certificate has no critical acmeIdentifier extension');
  // The extnValue's content is the DER of Authorization ::= OCTET STRING (SIZE (32)).
  const inner = readTlv(entry.bytes, 0, 'acmeIdentifier');
  if (inner.tag !== 0x04 || !Buffer.from(entry.bytes.subarray(inner.start, inner.end)).equals(digest(keyAuthorization))) {
    throw new ChallengeFailure('incorrectResponse', 'the acmeIdentifier extension does not hold the SHA-256 of the key authorization');
  }
}

/** The tbsCertificate's extensions as (id, critical, the extnValue OCTET STRING's content). */
function extensionsOf(tbs: Uint8Array): { id: string; critical: boolean; bytes: Uint8Array }[] {
  const top = readTlv(tbs, 0, 'tbsCertificate');
  const wrapper = children(tbs, top, 'tbsCertificate').find((t) => t.tag === 0xa3);
  if (!wrapper) return [];
  const [list] = children(tbs, wrapper, 'extensions');
  return extensionEntries(tbs, list, 'extensions').map((e) => ({ id: e.id, critical: e.critical, bytes: tbs.subarray(e.value.start, e.value.end) }));
}
