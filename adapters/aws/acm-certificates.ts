import { ACMClient, DescribeCertificateCommand, GetCertificateCommand, ListCertificatesCommand, type KeyAlgorithm } from '@aws-sdk/client-acm';

/** ListCertificates returns only RSA_1024 and RSA_2048 certificates unless asked for every key type. */
const ALL_KEY_TYPES: KeyAlgorithm[] = ['RSA_1024', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1'];

export interface AcmCertificate {
  arn: string;
  certificatePem: string;
  chainPem: string;
  /** Load balancers, CloudFront distributions ... that use it. */
  inUseBy: string[];
}

/**
 * Every issued certificate of an ACM account and region, page by page: ListCertificates for the
 * ARNs, DescribeCertificate for its use, GetCertificate for the PEM. Certificates still pending
 * validation have no PEM yet and are skipped.
 */
export async function* acmCertificates(client: ACMClient): AsyncGenerator<AcmCertificate> {
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListCertificatesCommand({ Includes: { keyTypes: ALL_KEY_TYPES }, CertificateStatuses: ['ISSUED'], NextToken, MaxItems: 100 }));
    for (const summary of page.CertificateSummaryList ?? []) {
      const arn = summary.CertificateArn!;
      const described = await client.send(new DescribeCertificateCommand({ CertificateArn: arn }));
      const got = await client.send(new GetCertificateCommand({ CertificateArn: arn }));
      if (!got.Certificate) continue;
      yield { arn, certificatePem: got.Certificate, chainPem: got.CertificateChain ?? '', inUseBy: described.Certificate?.InUseBy ?? [] };
    }
    NextToken = page.NextToken;
  } while (NextToken);
}
