import { randomBytes } from 'node:crypto';
import { bundledRoots } from '../../shared/x509/verify-pem-chain.ts';
import { parseCertificate, type ParsedCertificate } from '../../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { DynamoAuthorityStore } from '../dynamodb/authority-store.ts';
import { DynamoScanStore } from '../dynamodb/scan-store.ts';
import { DEFAULT_FETCH_BOUNDS, httpRevocationFetcher } from '../revocation/http-revocation-fetcher.ts';
import { probeTls } from '../tls/tls-probe.ts';
import { compose, type Base } from './base.ts';

/** What checks a served certificate: the TLS probe and the roots it trusts (Node's bundled ones, the built-in CA's, read from the table since no CA key is needed, and the configured ones). */
export function tlsChecks(b: Base) {
  const authorities = new DynamoAuthorityStore(b.table);
  return {
    scanner: probeTls,
    trustedRoots: async (): Promise<ParsedCertificate[]> => {
      const builtIn = await authorities.get('local');
      const own = builtIn ? certificateBlocks(builtIn.rootPem, 'built-in root') : [];
      const { trustedRootsPem } = b.suite;
      const configured = trustedRootsPem ? certificateBlocks(trustedRootsPem, 'inventory.trustedRootsFile') : [];
      return [...bundledRoots(), ...[...own, ...configured].map((der) => parseCertificate(der, 'trusted root'))];
    },
  };
}

/** What a TLS scan uses: the checks above, the revocation fetcher, where scans are kept and their limits. */
export function scanning(b: Base) {
  return compose(tlsChecks(b), {
    scans: new DynamoScanStore(b.table),
    get scanLimits() {
      return b.suite.scanLimits;
    },
    /** Scans ask each served certificate's OCSP responder or CRL, bounded by the scan's connection timeout. */
    revocationFetcher: httpRevocationFetcher({ ...DEFAULT_FETCH_BOUNDS, timeoutMs: b.config.scanTimeoutMs }),
    ocspNonce: () => randomBytes(16),
  });
}
