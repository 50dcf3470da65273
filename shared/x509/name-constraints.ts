import { isIP } from 'node:net';
import { children, readTlv, stringValue } from './der.ts';
import { OID } from './oids.ts';
import type { ParsedCertificate } from './parse-certificate.ts';

/**
 * RFC 5280 4.2.1.10 name constraints, applied to every name of a certificate below the CA that
 * sets them: dNSName, iPAddress (IPv4 and IPv6), rfc822Name, uniformResourceIdentifier and
 * directoryName (the subject, and directoryName SANs). A constraint on a form certops cannot
 * check (otherName, x400Address, ediPartyName, registeredID) refuses a certificate below that has
 * a name of that form, as RFC 5280 requires of a validator that does not process it.
 */

/** How many (name, constraint) comparisons one validation may make, as Go bounds them: a chain can offer thousands of each. */
export const MAX_CONSTRAINT_COMPARISONS = 250_000;

export class ConstraintBudget {
  private used = 0;
  exhausted = false;
  spend(n: number): boolean {
    this.used += n;
    if (this.used > MAX_CONSTRAINT_COMPARISONS) this.exhausted = true;
    return !this.exhausted;
  }
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A dNSName in RFC 1034 preferred name syntax (RFC 5280 4.2.1.6): letters, digits and hyphens, no empty label, so no trailing dot; a leading `*.` is allowed when `wildcard`. */
export function dnsNameSyntaxOk(name: string, wildcard: boolean): boolean {
  const n = name.toLowerCase();
  const labels = (wildcard && n.startsWith('*.') ? n.slice(2) : n).split('.');
  return n.length > 0 && n.length <= 253 && labels.every((l) => LABEL.test(l));
}

const canonicalDns = (n: string) => n.toLowerCase().replace(/\.$/, '');

/** A DNS name inside a dNSName subtree: the subtree itself or below it; the empty subtree holds every name. */
function dnsWithin(name: string, base: string): boolean {
  const b = canonicalDns(base);
  return b === '' || name === b || name.endsWith(`.${b}`);
}

/** Whether any name a `*.rest` wildcard matches (one label in place of the star) lies in the subtree. */
function wildcardMeets(rest: string, base: string): boolean {
  const b = canonicalDns(base);
  if (dnsWithin(rest, b)) return true;
  return b.endsWith(`.${rest}`) && !b.slice(0, -rest.length - 1).includes('.');
}

/** An IP address as bytes (4 or 16), or undefined when it is not one. */
function ipBytes(text: string): number[] | undefined {
  const family = isIP(text);
  if (family === 4) return text.split('.').map(Number);
  if (family !== 6) return undefined;
  const words = (part: string) => (part ? part.split(':') : []).flatMap((w) => {
    if (!w.includes('.')) return [parseInt(w, 16)];
    const [a, b, c, d] = w.split('.').map(Number);
    return [(a << 8) | b, (c << 8) | d];
  });
  const [head, tail] = text.split('::');
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((w) => [w >> 8, w & 0xff]);
}

/** An address inside an address/mask constraint of the same family (RFC 5280: 8 octets for IPv4, 32 for IPv6). */
function ipWithin(ip: string, range: string): boolean {
  const [addr, mask] = range.split('/');
  const a = ipBytes(ip);
  const base = ipBytes(addr);
  const m = mask ? ipBytes(mask) : undefined;
  if (!a || !base || !m || a.length !== base.length || m.length !== a.length) return false;
  return a.every((byte, i) => (byte & m[i]) === (base[i] & m[i]));
}

/** A host (of a mailbox or a URI) against a host constraint: `.example.com` means below it, `example.com` that host. */
function hostWithin(host: string, base: string): boolean {
  const h = canonicalDns(host);
  const b = canonicalDns(base);
  return b.startsWith('.') ? h.endsWith(b) : h === b;
}

/** rfc822Name: a whole mailbox, a host, or every host below a domain (RFC 5280 4.2.1.10). */
function emailWithin(mailbox: string, base: string): boolean {
  const at = mailbox.lastIndexOf('@');
  if (at < 0) return false;
  if (base.includes('@')) return mailbox.slice(0, at) === base.slice(0, base.lastIndexOf('@')) && canonicalDns(mailbox.slice(at + 1)) === canonicalDns(base.slice(base.lastIndexOf('@') + 1));
  return hostWithin(mailbox.slice(at + 1), base);
}

/** uniformResourceIdentifier: the URI's host against a host constraint; a URI without a host is outside every subtree. */
function uriWithin(uri: string, base: string): boolean {
  let host: string;
  try {
    host = new URL(uri).hostname;
  } catch {
    return false;
  }
  return host !== '' && !isIP(host.replace(/^\[|\]$/g, '')) && hostWithin(host, base);
}

/** The string types a directory attribute's value may take (RFC 5280 4.1.2.4): compared as text, whatever the type. */
const STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16, 0x1a, 0x1c, 0x1e]);

/** Names already prepared for comparison, by their DER (hex), null for one that cannot be read: a path search meets the same CA names over and over. Bounded, oldest forgotten first. */
const prepared = new Map<string, string[] | null>();
const MAX_PREPARED = 10_000;

/**
 * A DER Name (hex) as its RDNs prepared for comparison as RFC 5280 7.1 asks (the RFC 4518
 * preparation, as far as it matters here): each attribute as its type and value, a string value of
 * any string type as Unicode text (NFKC), case folded, without leading, trailing or repeated
 * spaces; any other value as encoded; the attributes of a multi-valued RDN as a set (sorted, each
 * quoted so that no value can pass for two attributes). Null when the name cannot be read.
 */
function preparedRdns(nameHex: string): string[] | null {
  const known = prepared.get(nameHex);
  if (known !== undefined) return known;
  let rdns: string[] | null;
  try {
    const buf = Buffer.from(nameHex, 'hex');
    rdns = children(buf, readTlv(buf, 0, 'directoryName'), 'directoryName').map((rdn) => children(buf, rdn, 'directoryName').map((atv) => {
      const [type, value, extra] = children(buf, atv, 'directoryName');
      if (!type || type.tag !== 0x06 || !value || extra) throw new Error('malformed AttributeTypeAndValue');
      const typeHex = buf.subarray(type.offset, type.end).toString('hex');
      if (!STRING_TAGS.has(value.tag)) return `${typeHex}#${buf.subarray(value.offset, value.end).toString('hex')}`;
      return `${typeHex}=${JSON.stringify(stringValue(buf, value, 'directoryName').normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim())}`;
    }).sort().join('+'));
  } catch {
    rdns = null;
  }
  if (prepared.size >= MAX_PREPARED) prepared.delete(prepared.keys().next().value!);
  prepared.set(nameHex, rdns);
  return rdns;
}

/**
 * A directoryName inside a subtree: the subtree's RDNs begin it, compared as RFC 5280 7.1 says
 * (preparedRdns). A name or subtree that cannot be read is inside an excluded subtree and outside
 * a permitted one: what cannot be checked is refused.
 */
function directoryWithin(nameHex: string, baseHex: string, excluded: boolean): boolean {
  const name = preparedRdns(nameHex);
  const base = preparedRdns(baseHex);
  if (!name || !base) return excluded;
  return base.length <= name.length && base.every((r, i) => r === name[i]);
}

/** Problems with a nameConstraints extension itself, whoever it constrains. */
export function constraintSyntaxProblems(ca: ParsedCertificate): string[] {
  const nc = ca.extensions.nameConstraints;
  if (!nc) return [];
  const out: string[] = [];
  if (ca.extensions.emptyNameConstraints) out.push(`${ca.subject} has name constraints with no or empty subtrees (RFC 5280 4.2.1.10)`);
  for (const list of [nc.permitted, nc.excluded]) {
    for (const base of list.dns) {
      if (base !== '' && !dnsNameSyntaxOk(base, false)) out.push(`${ca.subject} has a malformed dNSName constraint "${base}" (RFC 5280 4.2.1.10)`);
    }
    for (const range of list.ip) if (!range.includes('/') || !ipWithin(range.split('/')[0], range)) out.push(`${ca.subject} has a malformed iPAddress constraint ${range}`);
  }
  return out;
}

type Kind = 'dns' | 'ip' | 'email' | 'uri' | 'directoryNames';

/**
 * The names of `cert` the name constraints of `ca` do not allow. `subjectIsName`: the subject
 * counts as a directoryName (it does unless it is empty). The CN is not a name here: certops never
 * matches a host against it.
 */
export function nameConstraintViolations(ca: ParsedCertificate, cert: ParsedCertificate, budget: ConstraintBudget): string[] {
  const nc = ca.extensions.nameConstraints;
  if (!nc) return [];
  const san = cert.extensions.san;
  const names: Record<Kind, string[]> = {
    dns: san.dns.map(canonicalDns),
    ip: san.ip,
    // Without a subjectAltName, a mailbox constraint binds the subject's emailAddress (RFC 5280 4.2.1.10).
    email: cert.extensions.present.includes(OID.subjectAltName) ? san.email : [...san.email, ...cert.subjectEmailAddresses],
    uri: san.uri,
    directoryNames: [...san.directoryNames, ...(cert.subject ? [Buffer.from(cert.subjectDer).toString('hex')] : [])],
  };
  const inside: Record<Kind, (name: string, base: string, excluded: boolean) => boolean> = {
    dns: (name, base, excluded) => (name.startsWith('*.') ? (excluded ? wildcardMeets(name.slice(2), base) : dnsWithin(name.slice(2), base)) : dnsWithin(name, base)),
    ip: (name, base) => ipWithin(name, base),
    email: (name, base) => emailWithin(name, base),
    uri: (name, base) => uriWithin(name, base),
    directoryNames: (name, base, excluded) => directoryWithin(name, base, excluded),
  };
  // A form certops cannot check, constrained and present in the certificate: refused, not ignored (RFC 5280 4.2.1.10).
  for (const form of new Set(san.otherForms)) {
    if (nc.permitted.otherForms.includes(form) || nc.excluded.otherForms.includes(form)) return [`${ca.subject} constrains ${form} names, which ${cert.subject || 'a certificate'} has and certops cannot check (RFC 5280 4.2.1.10)`];
  }
  const show = (kind: Kind, name: string) => (kind === 'directoryNames' ? 'the directory name' : name);
  const out: string[] = [];
  for (const kind of Object.keys(names) as Kind[]) {
    const permitted = nc.permitted[kind];
    const excluded = nc.excluded[kind];
    if (!budget.spend(names[kind].length * (permitted.length + excluded.length))) return [`name constraint checking gave up: ${ca.subject} and ${cert.subject || 'its subject'} would need more than ${MAX_CONSTRAINT_COMPARISONS} comparisons`];
    for (const name of names[kind]) {
      if (excluded.some((b) => inside[kind](name, b, true))) out.push(`${show(kind, name)} of ${cert.subject || 'a certificate'} is excluded by the name constraints of ${ca.subject}`);
      else if (permitted.length && !permitted.some((b) => inside[kind](name, b, false))) out.push(`${show(kind, name)} of ${cert.subject || 'a certificate'} is outside the names permitted by ${ca.subject}`);
    }
  }
  return out;
}
