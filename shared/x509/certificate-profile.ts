import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { OID } from './oids.ts';
import { dnsNameSyntaxOk } from './name-constraints.ts';
import type { ParsedCertificate } from './parse-certificate.ts';

/** Where a certificate stands in a path: the end entity, a CA certificate in between, or the trust anchor. */
export type PathRole = 'leaf' | 'intermediate' | 'anchor';

/** What a TLS server's certificates may be signed with (CABF BR 7.1.3.2): SHA-2 digests and EdDSA; SHA-1, MD5, DSA and what certops cannot name are refused. */
const SERVER_SIGNATURES = new Set([
  'sha256WithRSAEncryption', 'sha384WithRSAEncryption', 'sha512WithRSAEncryption', 'rsassaPss-with-SHA256', 'rsassaPss-with-SHA384', 'rsassaPss-with-SHA512',
  'ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512', 'Ed25519', 'Ed448',
]);
const NAMES: Record<string, string> = Object.fromEntries(Object.entries(OID).map(([name, id]) => [id, name]));

/**
 * The extensions a certificate carries more than once, by name. RFC 5280 4.2: "A certificate MUST
 * NOT include more than one instance of a particular extension": parsers pick different copies, so
 * two systems would disagree about which names such a certificate holds.
 */
export function repeatedExtensions(cert: Pick<ParsedCertificate, 'extensions'>): string[] {
  return [...new Set(cert.extensions.duplicated)].map((oid) => NAMES[oid] ?? oid);
}

/** RFC 5280 4.1.2.2: users must handle serials of up to 20 octets; no conforming CA issues longer. */
const MAX_SERIAL_OCTETS = 20;
/** RFC 5280 Appendix A: ub-common-name and ub-emailaddress-length, in characters. */
const UB_COMMON_NAME = 64;
const UB_EMAIL_ADDRESS = 255;
/** RFC 1035 2.3.4: a name is at most 255 octets on the wire, 253 characters as text. */
const MAX_DNS_NAME = 253;
/** A control character in a name hides what follows it from whoever reads the name as C text (the NUL-prefix attack). */
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/** Names a dNSName or rfc822Name beyond its bound or holding a control character, by its kind and size (the name itself may be huge). */
function nameProblems(kind: string, names: string[], bound: number, rule: string): string[] {
  return names.flatMap((n) => [
    ...(n.length > bound ? [`${kind} of ${n.length} characters, over the ${bound} ${rule} allows`] : []),
    ...(CONTROL_CHARACTER.test(n) ? [`${kind} holding a control character (0x${n.match(CONTROL_CHARACTER)![0].charCodeAt(0).toString(16).padStart(2, '0')})`] : []),
  ]);
}

/**
 * What makes a certificate one no conforming CA issues by its sizes alone: a serial over 20
 * octets, a common name over ub-common-name, a DNS name or email address over its bound or
 * holding a control character. Each a phrase naming the field and the rule, never the value
 * (an oversize value would drown the message).
 */
export function beyondBounds(cert: Pick<ParsedCertificate, 'serialBytes' | 'subjectCommonNames' | 'issuerCommonNames' | 'extensions'>): string[] {
  const out: string[] = [];
  // The number's own octets: a positive 20-octet serial with its top bit set is encoded with a leading zero octet, and is conforming.
  const octets = cert.serialBytes.length > 1 && cert.serialBytes[0] === 0 ? cert.serialBytes.length - 1 : cert.serialBytes.length;
  if (octets > MAX_SERIAL_OCTETS) out.push(`a serialNumber of ${octets} octets, over the ${MAX_SERIAL_OCTETS} RFC 5280 4.1.2.2 allows`);
  for (const [role, names] of [['subject', cert.subjectCommonNames], ['issuer', cert.issuerCommonNames]] as const) {
    for (const cn of names) if (cn.length > UB_COMMON_NAME) out.push(`a CN of ${cn.length} characters in its ${role}, over ub-common-name (${UB_COMMON_NAME}, RFC 5280 Appendix A)`);
  }
  out.push(...nameProblems('a dNSName', cert.extensions.san.dns, MAX_DNS_NAME, 'RFC 1035 2.3.4'));
  out.push(...nameProblems('an rfc822Name', cert.extensions.san.email, UB_EMAIL_ADDRESS, 'ub-emailaddress-length (RFC 5280 Appendix A)'));
  return out;
}

/**
 * What the RFC 5280 profile (and the CA/Browser Forum's, for serverAuth) forbids in a certificate
 * at its place in a path, each a sentence naming the certificate and the rule. The checks a
 * path makes between certificates (signatures, validity, path length, constraints) are not here.
 */
export function profileProblems(cert: ParsedCertificate, role: PathRole, serverAuth: boolean): string[] {
  const who = role === 'leaf' ? `the leaf (${cert.subject || 'empty subject'})` : cert.subject || 'a CA with an empty subject';
  const ext = cert.extensions;
  const critical = (oid: string) => ext.critical.includes(oid);
  const out: string[] = [];
  const isCa = role !== 'leaf';
  for (const name of repeatedExtensions(cert)) out.push(`${who} carries the ${name} extension more than once (RFC 5280 4.2)`);
  if (cert.version !== 3 && role !== 'anchor') out.push(`${who} is a version ${cert.version} certificate; certificates must be version 3 (CABF BR 7.1.1)`);
  // Key identifiers (RFC 5280 4.2.1.1, 4.2.1.2).
  if (critical(OID.authorityKeyIdentifier)) out.push(`${who} marks authorityKeyIdentifier critical (RFC 5280 4.2.1.1: MUST be non-critical)`);
  if (critical(OID.subjectKeyIdentifier)) out.push(`${who} marks subjectKeyIdentifier critical (RFC 5280 4.2.1.2: MUST be non-critical)`);
  const selfIssued = Buffer.compare(Buffer.from(cert.subjectDer), Buffer.from(cert.issuerDer)) === 0;
  if (role !== 'anchor' && !selfIssued && !ext.authorityKeyIdFields) out.push(`${who} has no authorityKeyIdentifier (RFC 5280 4.2.1.1)`);
  if (role !== 'anchor' && !selfIssued && ext.authorityKeyIdFields && !ext.authorityKeyIdFields.keyIdentifier) out.push(`${who} has an authorityKeyIdentifier without a keyIdentifier (RFC 5280 4.2.1.1: MUST be included)`);
  // A version 1 root carries no extensions: as a trust anchor it is its name and key (RFC 5280 6.1.1 (d)).
  if (isCa && !(role === 'anchor' && cert.version === 1) && !ext.subjectKeyId) out.push(`${who} is a CA without a subjectKeyIdentifier (RFC 5280 4.2.1.2)`);
  if (role === 'anchor' && ext.authorityKeyIdFields && selfIssued) {
    const f = ext.authorityKeyIdFields;
    if (!f.keyIdentifier || f.authorityCertIssuer || f.authorityCertSerialNumber) out.push(`${who} has an authorityKeyIdentifier without a keyIdentifier or with issuer and serial fields (RFC 5280 4.2.1.1)`);
    else if (ext.subjectKeyId && ext.authorityKeyId !== ext.subjectKeyId) out.push(`${who} is self-signed but its authorityKeyIdentifier is not its subjectKeyIdentifier`);
  }
  // Names (RFC 5280 4.1.2.6, 4.2.1.6).
  if (isCa && !cert.subject) out.push(`${who}: a CA certificate must have a non-empty subject (RFC 5280 4.1.2.6)`);
  const hasSan = ext.san.dns.length + ext.san.ip.length + ext.san.email.length + ext.san.uri.length + ext.san.directoryNames.length + ext.san.otherForms.length > 0;
  if (ext.present.includes(OID.subjectAltName) && !hasSan) out.push(`${who} has an empty subjectAltName (RFC 5280 4.2.1.6: at least one entry)`);
  // An iPAddress names one address: 4 or 16 octets (RFC 5280 4.2.1.6); anything else names nothing a constraint can check.
  for (const ip of ext.san.ip.filter((a) => a.startsWith('invalid:') || a.includes('/'))) out.push(`${who} has a malformed iPAddress subjectAltName (${ip.replace(/^invalid:/, '')}): RFC 5280 4.2.1.6 wants 4 or 16 octets`);
  if (!cert.subject && hasSan && !critical(OID.subjectAltName)) out.push(`${who} has an empty subject and a non-critical subjectAltName (RFC 5280 4.2.1.6: MUST be critical)`);
  if (cert.subject && critical(OID.subjectAltName) && serverAuth) out.push(`${who} marks subjectAltName critical with a non-empty subject (RFC 5280 4.2.1.6: SHOULD NOT; CABF BR 7.1.2.7.12)`);
  if (role === 'leaf' && serverAuth) {
    for (const name of ext.san.dns) if (!dnsNameSyntaxOk(name, true)) out.push(`${who} has a malformed dNSName "${name}" (RFC 5280 4.2.1.6: preferred name syntax)`);
    for (const cn of cert.subjectCommonNames) if (commonNameMisspelt(cn, ext.san.dns, ext.san.ip)) out.push(`${who} has the CN "${cn}", another spelling of one of its subjectAltNames (CABF BR 7.1.4.3: a character-for-character copy)`);
  }
  // Basic constraints, key usage, name constraints by role (RFC 5280 4.2.1.3, 4.2.1.9, 4.2.1.10).
  const bc = ext.basicConstraints;
  if (isCa && bc?.ca && !critical(OID.basicConstraints)) out.push(`${who} is a CA whose basicConstraints is not critical (RFC 5280 4.2.1.9: MUST be critical)`);
  if (ext.keyUsage?.includes('keyCertSign') && !bc?.ca) out.push(`${who} asserts keyCertSign without being a CA (RFC 5280 4.2.1.3)`);
  if (ext.keyUsage?.length === 0) out.push(`${who} has a keyUsage with no bit set (RFC 5280 4.2.1.3: at least one MUST be set)`);
  if (role === 'intermediate' && !ext.keyUsage) out.push(`${who} is a CA without keyUsage (RFC 5280 4.2.1.3: MUST be present in certificates that sign certificates)`);
  if (bc && !bc.ca && bc.pathLength !== undefined) out.push(`${who} has a pathLenConstraint without cA (RFC 5280 4.2.1.9: MUST NOT)`);
  // A CA certificate may end a path (RFC 5280 4.2.1.9's note), but one that cannot sign certificates is an end entity mislabelled.
  if (role === 'leaf' && bc?.ca && ext.keyUsage && !ext.keyUsage.includes('keyCertSign')) out.push(`${who} asserts cA without keyCertSign: basic constraints and key usage disagree (CABF BR 7.1.2.7.8: an end entity's cA MUST be false)`);
  if (ext.nameConstraints && !bc?.ca) out.push(`${who} carries name constraints but is not a CA (RFC 5280 4.2.1.10: CA certificates only)`);
  if (ext.nameConstraints && !critical(OID.nameConstraints)) out.push(`${who} has non-critical name constraints (RFC 5280 4.2.1.10: MUST be critical)`);
  if (ext.present.includes(OID.policyConstraints) && !critical(OID.policyConstraints)) out.push(`${who} has non-critical policy constraints (RFC 5280 4.2.1.11: MUST be critical)`);
  if (critical(OID.authorityInfoAccess)) out.push(`${who} marks authorityInfoAccess critical (RFC 5280 4.2.2.1: MUST be non-critical)`);
  // A precertificate is never a certificate, whatever it is used for (RFC 6962 3.1: the poison is critical so that nothing validates it).
  if (ext.precertificatePoison) out.push(`${who} is a CT precertificate (its poison extension makes it unusable, RFC 6962 3.1)`);
  if (serverAuth) {
    if (role !== 'anchor' && !SERVER_SIGNATURES.has(cert.signatureAlgorithm)) out.push(`${who} is signed with ${cert.signatureAlgorithm}, which is refused for TLS servers`);
    const key = cert.publicKey;
    if (key.type === 'DSA') out.push(`${who} has a DSA key, which is refused for TLS servers`);
    if (key.type === 'RSA' && key.bits !== undefined && (key.bits < 2048 || key.bits % 8 !== 0)) out.push(`${who} has a ${key.bits}-bit RSA key (at least 2048 bits, a whole number of bytes)`);
    if (key.weakExponent) out.push(`${who} has an RSA key whose public exponent is even or below 3 (CABF BR 6.1.6)`);
  }
  return out;
}


/** RFC 5952 text of an IPv6 address (the WHATWG URL serialiser writes exactly that). */
const rfc5952 = (ip: string) => new URL(`http://[${ip}]/`).hostname.slice(1, -1);

/** An IPv4 address in a spelling other than dotted decimal (hex, octal, leading zeros) that resolvers still read as one. */
const looseIpv4 = (s: string) => /^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$/i.test(s) && isIP(s) !== 4;

/**
 * A CN that spells one of the certificate's names differently from its subjectAltName (CABF BR
 * 7.1.4.3: a character-for-character copy; IPv4 in dotted decimal, IPv6 in RFC 5952 form): a
 * client that still reads CNs would see another spelling of the name than the one validated.
 * certops never matches a host against the CN; a CN naming something else entirely is left to
 * the CA's profile.
 */
function commonNameMisspelt(cn: string, dns: string[], ips: string[]): boolean {
  if (dns.includes(cn) || ips.includes(cn)) return false;
  if (looseIpv4(cn)) return true;
  if (isIP(cn) === 4) return false;
  if (isIP(cn) === 6) return ips.some((ip) => isIP(ip) === 6 && rfc5952(ip) === rfc5952(cn));
  const ascii = domainToASCII(cn.toLowerCase());
  return ascii !== '' && dns.some((d) => d.toLowerCase() === ascii);
}
