import { createHash } from 'node:crypto';
import { ACMClient, DescribeCertificateCommand, GetCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { ConflictError, IssuerRefusedError } from '../../shared/errors.ts';
import type { CertificateAuthority, IssueResult, SignInput, ValidationRecord } from '../../shared/ports.ts';

/**
 * Public certificates from AWS Certificate Manager. ACM makes and keeps the key, and issues only
 * once DNS validation records are in place, so `issue` answers "pending" with the records to
 * create and `complete` collects the certificate when ACM reports it issued.
 */
export class AcmPublicAuthority implements CertificateAuthority {
  constructor(readonly name: string, private readonly client: ACMClient, private readonly recordAttempts = 5, private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  async issue(input: SignInput): Promise<IssueResult> {
    const names = input.subjectAlternativeNames.filter((n) => n !== input.commonName);
    const token = createHash('sha256').update([input.commonName, ...names].join(',')).digest('hex').slice(0, 32);
    const requested = await this.client.send(new RequestCertificateCommand({
      DomainName: input.commonName,
      SubjectAlternativeNames: names.length ? [input.commonName, ...names] : undefined,
      ValidationMethod: 'DNS',
      IdempotencyToken: token,
      KeyAlgorithm: input.keyType === 'RSA' ? 'RSA_2048' : 'EC_prime256v1',
    }));
    const arn = requested.CertificateArn!;
    // ACM fills in the validation records a moment after the request.
    for (let i = 0; i < this.recordAttempts; i++) {
      const described = await this.client.send(new DescribeCertificateCommand({ CertificateArn: arn }));
      const records = (described.Certificate?.DomainValidationOptions ?? []).map((o) => o.ResourceRecord).filter((r) => r !== undefined);
      if (records.length && records.length === (described.Certificate?.DomainValidationOptions ?? []).length) {
        return { pending: { reference: arn, validationRecords: records.map((r): ValidationRecord => ({ name: r!.Name!, type: r!.Type!, value: r!.Value! })) } };
      }
      await this.sleep(500 * 2 ** i);
    }
    return { pending: { reference: arn, validationRecords: [] } };
  }

  async complete(reference: string): Promise<{ certificatePem: string; chainPem: string } | undefined> {
    const described = await this.client.send(new DescribeCertificateCommand({ CertificateArn: reference }));
    const status = described.Certificate?.Status;
    if (status === 'PENDING_VALIDATION') return undefined;
    if (status !== 'ISSUED') throw new IssuerRefusedError(`ACM certificate ${reference} is ${status}${described.Certificate?.FailureReason ? ` (${described.Certificate.FailureReason})` : ''}`, 'issuer');
    const got = await this.client.send(new GetCertificateCommand({ CertificateArn: reference }));
    return { certificatePem: `${got.Certificate!.trim()}\n`, chainPem: `${(got.CertificateChain ?? '').trim()}\n` };
  }

  async chainPem(): Promise<string> {
    return '';
  }

  async revoke(): Promise<void> {
    throw new ConflictError('ACM public certificates are not revoked through certops: delete the certificate in ACM, or ask the CA behind it', 'issuer');
  }
}
