import { ValidationError } from '../../shared/errors.ts';
import { asObject, oneOf, optionalBoolean, optionalInteger, optionalString, stringList } from '../../shared/input.ts';
import { normaliseName } from '../../shared/names.ts';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../../shared/x509/keys.ts';

/** A certificate request as CONTRACT.md shapes it, checked field by field. */
export interface RequestInput {
  commonName: string;
  subjectAlternativeNames: string[];
  csr?: string;
  keyAlgorithm: KeyAlgorithm;
  returnPrivateKey: boolean;
  validityDays: number;
  profile: 'tls-server' | 'tls-client';
  environment?: string;
  owner?: string;
  issuer: string;
  targets: string[];
}

export function parseRequestInput(body: unknown, defaultIssuer: string): RequestInput {
  const obj = asObject(body);
  const cnRaw = optionalString(obj, 'commonName', 253);
  if (!cnRaw) throw new ValidationError('commonName is required', 'commonName');
  const commonName = normaliseName(cnRaw, 'commonName');
  const sans = stringList(obj, 'subjectAlternativeNames').map((n) => normaliseName(n, 'subjectAlternativeNames'));
  const csr = optionalString(obj, 'csr', 65536);
  if (csr && obj.keyAlgorithm !== undefined) throw new ValidationError('keyAlgorithm applies only when the key is generated (no csr)', 'keyAlgorithm');
  return {
    commonName,
    // The common name is always a SAN too: clients ignore the CN when SANs are present.
    subjectAlternativeNames: [...new Set([commonName, ...sans])],
    csr,
    keyAlgorithm: oneOf(obj, 'keyAlgorithm', KEY_ALGORITHMS, 'EC_P256'),
    returnPrivateKey: optionalBoolean(obj, 'returnPrivateKey'),
    validityDays: optionalInteger(obj, 'validityDays', 1, 825) ?? 90,
    profile: oneOf(obj, 'profile', ['tls-server', 'tls-client'] as const, 'tls-server'),
    environment: optionalString(obj, 'environment', 64),
    owner: optionalString(obj, 'owner', 128),
    issuer: optionalString(obj, 'issuer', 64) ?? defaultIssuer,
    targets: stringList(obj, 'targets'),
  };
}
