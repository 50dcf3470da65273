import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { x509 } from './x509-library.ts';
import { certificateBlocks, toPem } from '../../shared/x509/pem.ts';

// Test certificates are built with @peculiar/x509 on purpose: an encoder independent of the one
// certops signs with, so a fault in either does not hide itself.
const generateKeyPair = async () => (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
const privateKeyPem = async (key: CryptoKey) => toPem(new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
const sanEntry = (name: string) => ({ type: isIP(name) ? ('ip' as const) : ('dns' as const), value: name });

const DAY = 86_400_000;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams;

export interface TestCert {
  pem: string;
  der: Buffer;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
  keyPem(): Promise<string>;
}

export interface CertSpec {
  subject: string;
  issuer?: TestCert;
  ca?: boolean;
  /** false leaves basicConstraints out altogether. */
  basicConstraints?: boolean;
  pathLength?: number;
  keyUsage?: number;
  eku?: string[];
  sans?: string[];
  /** A second subjectAltName extension with these names (RFC 5280 4.2 forbids the repeat). */
  repeatedSans?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Permitted DNS subtrees (name constraints). */
  permittedDns?: string[];
  keys?: CryptoKeyPair;
  /** Hex; random unless given. */
  serialNumber?: string;
  /** Revocation pointers: an AIA OCSP responder and a cRLDistributionPoints URL. */
  ocspUrl?: string;
  crlUrl?: string;
  /** Further extensions, as given: those makeCert has no option for. */
  extensions?: x509.Extension[];
}

function der(tag: number, content: Uint8Array): Uint8Array {
  const len = content.length < 128 ? [content.length] : [0x81, content.length];
  return Uint8Array.from([tag, ...len, ...content]);
}

/** NameConstraints with permitted dNSName subtrees, DER-encoded by hand (the library has no class for it). */
function nameConstraints(dns: string[]): x509.Extension {
  const subtrees = dns.map((d) => der(0x30, der(0x82, Buffer.from(d))));
  const value = der(0x30, der(0xa0, Buffer.concat(subtrees)));
  return new x509.Extension('2.5.29.30', true, Buffer.from(value));
}

/** A certificate for tests, built with whatever faults the spec asks for. */
export async function makeCert(spec: CertSpec): Promise<TestCert> {
  const keys = spec.keys ?? (await generateKeyPair());
  const now = Date.now();
  const ca = spec.ca ?? false;
  const extensions: x509.Extension[] = [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)];
  if (spec.basicConstraints !== false) extensions.push(new x509.BasicConstraintsExtension(ca, spec.pathLength, true));
  const usage = spec.keyUsage ?? (ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature);
  extensions.push(new x509.KeyUsagesExtension(usage, true));
  if (spec.eku) extensions.push(new x509.ExtendedKeyUsageExtension(spec.eku));
  if (spec.sans?.length) extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans.map(sanEntry)));
  if (spec.repeatedSans) extensions.push(new x509.SubjectAlternativeNameExtension(spec.repeatedSans.map(sanEntry)));
  if (spec.permittedDns) extensions.push(nameConstraints(spec.permittedDns));
  if (spec.issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.keys.publicKey));
  if (spec.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: spec.ocspUrl }));
  if (spec.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([spec.crlUrl]));
  extensions.push(...(spec.extensions ?? []));
  const common = {
    serialNumber: spec.serialNumber ?? Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    notBefore: spec.notBefore ?? new Date(now - DAY),
    notAfter: spec.notAfter ?? new Date(now + 90 * DAY),
    signingAlgorithm: SIGN,
    extensions,
  };
  const cert = spec.issuer
    ? await x509.X509CertificateGenerator.create({ ...common, subject: spec.subject, issuer: spec.issuer.cert.subject, publicKey: keys.publicKey, signingKey: spec.issuer.keys.privateKey })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: spec.subject, keys });
  const pem = `${cert.toString('pem')}\n`;
  return { pem, der: certificateBlocks(pem, 'cert')[0], keys, cert, keyPem: () => privateKeyPem(keys.privateKey) };
}

/** Root → intermediate → leaf for `names`, all valid now. */
export async function makeChain(names: string[], leafSpec: Partial<CertSpec> = {}) {
  const root = await makeCert({ subject: 'CN=Test Root', ca: true });
  const intermediate = await makeCert({ subject: 'CN=Test Intermediate', ca: true, pathLength: 0, issuer: root });
  const leaf = await makeCert({ subject: `CN=${names[0]}`, sans: names, eku: ['1.3.6.1.5.5.7.3.1'], issuer: intermediate, ...leafSpec });
  return { root, intermediate, leaf };
}
