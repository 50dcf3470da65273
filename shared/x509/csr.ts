import { createPublicKey, verify } from 'node:crypto';
import { publicKeyObject } from './public-key-object.ts';
import { CertopsError, ValidationError } from '../errors.ts';
import { children, derError, expectTlv, oidString, readTlv, type Tlv } from './der.ts';
import { readName } from './distinguished-name.ts';
import { readExtensionList } from './extensions.ts';
import { SIGNATURE_ALGORITHMS } from './oids.ts';
import { readPublicKey } from './public-key.ts';
import { repeatedExtensions } from './certificate-profile.ts';
import { normaliseName } from '../names.ts';

export interface CsrContents {
  commonName?: string;
  /**
   * DNS names and IP addresses asked for in the subjectAltName extension request, each once in
   * normaliseName's canonical form (lower case, no trailing dot, RFC 5952 IPv6, an IPv4-mapped
   * address as its IPv4 address): what the requester's spelling means, to compare with a request's.
   */
  names: string[];
  keyAlgorithm: string;
  keyType: string;
  keySize?: number;
  /** The SubjectPublicKeyInfo, copied as it is into the certificate. */
  spkiDer: Buffer;
}

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const HASH_OF: Record<string, string | null> = {
  sha256WithRSAEncryption: 'sha256', sha384WithRSAEncryption: 'sha384', sha512WithRSAEncryption: 'sha512',
  'ecdsa-with-SHA256': 'sha256', 'ecdsa-with-SHA384': 'sha384', 'ecdsa-with-SHA512': 'sha512', Ed25519: null,
};

function pemOrDer(input: string | Uint8Array, field: string): Uint8Array {
  if (typeof input !== 'string') return input;
  const blocks = [...input.matchAll(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (NEW )?CERTIFICATE REQUEST-----/g)];
  if (blocks.length !== 1) throw new ValidationError(`${field} must hold exactly one PEM CERTIFICATE REQUEST block`, field);
  return Buffer.from(blocks[0][2].replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
}

/**
 * Reads a PKCS#10 request and checks its self-signature (proof that the requester holds the key)
 * on the libuv thread pool; any fault is a ValidationError on `field`.
 */
export async function readCsr(input: string | Uint8Array, field = 'csr'): Promise<CsrContents> {
  try {
    return await readCsrStrictly(input, field);
  } catch (err) {
    // Whatever else a hostile request makes fail (a key off its curve, an odd attribute) is the request's fault.
    if (err instanceof CertopsError) throw err;
    throw new ValidationError(`${field} cannot be read: ${(err as Error).message}`, field);
  }
}

/**
 * The names of the request's extensionRequest attribute, canonical (see CsrContents.names). A
 * repeat is refused, not resolved: RFC 5280 4.2 forbids a repeated extension and RFC 2985 5.4.2
 * makes extensionRequest single-valued, and whichever copy certops read, another system may read
 * the other.
 */
function requestedNames(der: Uint8Array, attributes: Tlv, field: string): string[] {
  const requests = children(der, attributes, field).filter((attr) => oidString(der, children(der, attr, field)[0], field) === EXTENSION_REQUEST);
  if (requests.length > 1) throw new ValidationError(`${field} carries the extensionRequest attribute more than once (RFC 2985 5.4.2: single-valued)`, field);
  if (!requests.length) return [];
  const [, values] = children(der, requests[0], field);
  const ext = readExtensionList(der, expectTlv(der, values.start, 0x30, field, 'extensionRequest', values.end), field);
  const repeated = repeatedExtensions({ extensions: ext });
  if (repeated.length) throw new ValidationError(`${field} carries the ${repeated.join(' and ')} extension more than once (RFC 5280 4.2: MUST NOT)`, field);
  // RFC 4291 2.5.5.2: an IPv4-mapped address stands for the IPv4 node; normaliseName writes it as that node's address.
  return [...new Set([...ext.san.dns, ...ext.san.ip].map((n) => normaliseName(n, field)))];
}

async function readCsrStrictly(input: string | Uint8Array, field: string): Promise<CsrContents> {
  const der = pemOrDer(input, field);
  if (der[0] !== 0x30) throw derError(field, 'is not a DER SEQUENCE');
  const outer = readTlv(der, 0, field);
  if (outer.end !== der.length) throw derError(field, 'has bytes after the request');
  const [info, alg, sig] = children(der, outer, field);
  if (!info || !alg || !sig || sig.tag !== 0x03) throw derError(field, 'is not a CertificationRequest');
  const [version, subject, spki, attributes] = children(der, info, field);
  if (!version || version.tag !== 0x02 || !subject || !spki) throw derError(field, 'CertificationRequestInfo is incomplete');
  const key = readPublicKey(der, spki, field);
  const name = readName(der, subject, `${field} subject`);
  const names = attributes && attributes.tag === 0xa0 ? requestedNames(der, attributes, field) : [];
  const algorithm = SIGNATURE_ALGORITHMS[oidString(der, expectTlv(der, alg.start, 0x06, field, 'signatureAlgorithm', alg.end), field)] ?? 'unknown';
  if (!(algorithm in HASH_OF)) throw new ValidationError(`${field} is signed with ${algorithm}, which certops does not accept`, field);
  const spkiDer = Buffer.from(der.subarray(spki.offset, spki.end));
  const publicKey = publicKeyObject(spkiDer);
  const exponent = publicKey.asymmetricKeyDetails?.publicExponent;
  // CA/Browser Forum BR 6.1.6: an odd exponent in [2^16+1, 2^256-1]; e = 1 or an even e is no key at all.
  if (exponent !== undefined && (exponent % 2n === 0n || exponent < 65537n || exponent >= 2n ** 256n)) throw new ValidationError(`${field} RSA public exponent must be odd and between 65537 and 2^256-1`, field);
  const ok = await new Promise<boolean>((resolve) => {
    verify(HASH_OF[algorithm], der.subarray(info.offset, info.end), publicKey, der.subarray(sig.start + 1, sig.end), (err, result) => resolve(!err && result));
  });
  if (!ok) throw new ValidationError(`${field} signature does not verify (no proof of possession)`, field);
  // The key goes into the certificate in its standard encoding (an EC point uncompressed, RFC 5480
  // 2.2; RSA's DER as PKCS #1 writes it), re-encoded from the key itself, whatever form the CSR used.
  // (A key object keeps the point form it was read in; through JWK's x and y it is written
  // uncompressed. Most CSRs carry the uncompressed form already, and skip that second import.)
  const exported = publicKey.export({ type: 'spki', format: 'der' });
  const standard = key.type === 'EC' && !uncompressedPoint(exported) ? createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' }).export({ type: 'spki', format: 'der' }) : exported;
  return { commonName: name.commonNames[0], names, keyAlgorithm: key.algorithm, keyType: key.type, keySize: key.bits, spkiDer: standard };
}


/** Whether an EC SubjectPublicKeyInfo carries its point uncompressed (SEC 1 2.3.3: 0x04 || x || y). */
function uncompressedPoint(spkiDer: Uint8Array): boolean {
  const [, key] = children(spkiDer, readTlv(spkiDer, 0));
  return spkiDer[key.start + 1] === 0x04;
}
