import { createHash } from 'node:crypto';
import {
  ACMPCAClient, GetCertificateAuthorityCertificateCommand, GetCertificateCommand, IssueCertificateCommand, RevokeCertificateCommand,
  type RevocationReason as PcaReason, type SigningAlgorithm,
} from '@aws-sdk/client-acm-pca';
import type { CertificateAuthority, IssuanceJournal, SignInput } from '../../shared/ports.ts';
import type { RevocationReason } from '../../shared/x509/crl-builder.ts';

const REASONS: Partial<Record<RevocationReason, PcaReason>> = {
  unspecified: 'UNSPECIFIED', keyCompromise: 'KEY_COMPROMISE', cACompromise: 'CERTIFICATE_AUTHORITY_COMPROMISE', affiliationChanged: 'AFFILIATION_CHANGED',
  superseded: 'SUPERSEDED', cessationOfOperation: 'CESSATION_OF_OPERATION', privilegeWithdrawn: 'PRIVILEGE_WITHDRAWN', aACompromise: 'A_A_COMPROMISE',
};
const TEMPLATES = {
  'tls-server': 'arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1',
  'tls-client': 'arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1',
};

export interface PcaOptions {
  certificateAuthorityArn: string;
  signingAlgorithm?: SigningAlgorithm;
  /** GetCertificate answers RequestInProgress until the certificate is signed: how often to ask, and the first wait (doubling). */
  waitAttempts?: number;
  waitDelayMs?: number;
  sleep?(ms: number): Promise<void>;
  /** Where the certificate ARN of each idempotency key is kept. */
  journal?: IssuanceJournal;
}

/** Thrown when Private CA has not signed in the time certops waits; transient, so the caller may retry. */
export class PcaStillIssuingError extends Error {
  readonly name = 'TransientError';
}

/** AWS Private CA behind the CertificateAuthority port: IssueCertificate, a bounded wait on GetCertificate, RevokeCertificate. */
export class AcmPcaAuthority implements CertificateAuthority {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(readonly name: string, private readonly client: ACMPCAClient, private readonly options: PcaOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async signedFor(idempotencyKey: string): Promise<boolean> {
    return Boolean(await this.options.journal?.recall(this.name, idempotencyKey));
  }

  /**
   * IssueCertificate, then the certificate once Private CA has it. The same request retried gets
   * the same token (Private CA issues once within its window); with an idempotency key the ARN is
   * journaled as soon as Private CA answers, so a retry any time later collects that certificate.
   */
  async issue(input: SignInput): Promise<{ certificatePem: string; chainPem: string }> {
    const CertificateAuthorityArn = this.options.certificateAuthorityArn;
    const earlier = input.idempotencyKey ? await this.options.journal?.recall(this.name, input.idempotencyKey) : undefined;
    const token = createHash('sha256').update(input.idempotencyKey ?? `${input.csrPem}|${input.validityDays}|${input.profile}`).digest('hex').slice(0, 36);
    const issued = earlier ? { CertificateArn: earlier } : await this.client.send(new IssueCertificateCommand({
      CertificateAuthorityArn,
      Csr: Buffer.from(input.csrPem),
      SigningAlgorithm: this.options.signingAlgorithm ?? 'SHA256WITHECDSA',
      TemplateArn: TEMPLATES[input.profile],
      Validity: { Value: input.validityDays, Type: 'DAYS' },
      IdempotencyToken: token,
    }));
    if (!earlier && input.idempotencyKey && this.options.journal) await this.options.journal.record(this.name, input.idempotencyKey, issued.CertificateArn!);
    const attempts = this.options.waitAttempts ?? 8;
    for (let i = 0; i < attempts; i++) {
      try {
        const got = await this.client.send(new GetCertificateCommand({ CertificateAuthorityArn, CertificateArn: issued.CertificateArn }));
        return { certificatePem: `${got.Certificate!.trim()}\n`, chainPem: `${(got.CertificateChain ?? '').trim()}\n` };
      } catch (err) {
        if ((err as Error).name !== 'RequestInProgressException') throw err;
        await this.sleep((this.options.waitDelayMs ?? 250) * 2 ** i);
      }
    }
    throw new PcaStillIssuingError(`Private CA has not signed ${issued.CertificateArn} after ${attempts} checks`);
  }

  async chainPem(): Promise<string> {
    const out = await this.client.send(new GetCertificateAuthorityCertificateCommand({ CertificateAuthorityArn: this.options.certificateAuthorityArn }));
    return [out.Certificate, out.CertificateChain].filter(Boolean).map((p) => p!.trim()).join('\n') + '\n';
  }

  async revoke(serialNumber: string, reason: RevocationReason): Promise<void> {
    try {
      await this.client.send(new RevokeCertificateCommand({
        CertificateAuthorityArn: this.options.certificateAuthorityArn,
        CertificateSerial: serialNumber.toLowerCase(),
        RevocationReason: REASONS[reason] ?? 'UNSPECIFIED',
      }));
    } catch (err) {
      // Revoked already: the state asked for is the state there is.
      if ((err as Error).name !== 'RequestAlreadyProcessedException') throw err;
    }
  }
}
