import { rootCertificates } from 'node:tls';
import { ValidationError } from '../errors.ts';
import { validatePath, type ChainVerdict, type Purpose, type ValidatedPath } from './chain-validation.ts';
import { parseCertificate, type ParsedCertificate } from './parse-certificate.ts';
import { certificateBlocks } from './pem.ts';

let bundled: ParsedCertificate[] | undefined;

/** Node's bundled Mozilla roots, parsed once; the few this strict parser refuses are left out. */
export function bundledRoots(): ParsedCertificate[] {
  return (bundled ??= rootCertificates.flatMap((pem) => {
    try {
      return [parseCertificate(certificateBlocks(pem, 'root')[0], 'root')];
    } catch {
      return [];
    }
  }));
}

export interface PemChainInput {
  /** The leaf first, then any intermediates in any order. */
  chainPem: string;
  /** Trust anchors; Node's bundled roots when absent. */
  rootsPem?: string;
  at: Date;
  host?: string;
  purpose?: Purpose;
  /** At most this many intermediates between leaf and anchor. */
  maxIntermediates?: number;
}

/** Chain validation over PEM text: the library call deployment and `certops verify` share. Unusable input is a ValidationError. */
export function verifyPemChain(input: PemChainInput): ChainVerdict {
  return verifyPemPath(input).verdict;
}

/** verifyPemChain with the validated path's certificates (for revocation checking). */
export function verifyPemPath(input: PemChainInput): ValidatedPath {
  const [leaf, ...intermediates] = certificateBlocks(input.chainPem, 'chain').map((der, i) => parseCertificate(der, i === 0 ? 'chain leaf' : `chain certificate ${i + 1}`));
  const roots = input.rootsPem === undefined ? bundledRoots() : certificateBlocks(input.rootsPem, 'roots').map((der, i) => parseCertificate(der, `roots certificate ${i + 1}`));
  if (Number.isNaN(input.at.getTime())) throw new ValidationError('at is not a valid time', 'at');
  return validatePath({ leaf, intermediates, roots, at: input.at, host: input.host, purpose: input.purpose, maxIntermediates: input.maxIntermediates });
}
