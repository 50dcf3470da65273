import { ValidationError } from '../errors.ts';
import { x509 } from './crypto-provider.ts';

export interface CsrContents {
  commonName?: string;
  names: string[];
  keyAlgorithm: string;
}

/** Reads a PKCS#10 request and checks its self-signature; any fault is a ValidationError on `field`. */
export async function readCsr(pem: string, field = 'csr'): Promise<CsrContents> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new ValidationError(`${field} is not a PEM certificate request: ${(err as Error).message}`, field);
  }
  if (!(await csr.verify())) throw new ValidationError(`${field} signature does not verify (no proof of possession)`, field);
  const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension | null;
  const names = san ? san.names.items.map((n) => n.value) : [];
  const cn = csr.subjectName.getField('CN')[0];
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
  const keyAlgorithm = alg.name === 'ECDSA' ? `EC_${alg.namedCurve.replace('-', '')}` : `RSA_${alg.modulusLength}`;
  return { commonName: cn, names, keyAlgorithm };
}
