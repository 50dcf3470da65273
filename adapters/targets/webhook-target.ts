import { createHmac } from 'node:crypto';
import { request } from 'node:https';
import { StepError } from '../../shared/errors.ts';
import type { CertificateBundle, DeploymentTarget } from '../../shared/ports.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';

export interface WebhookOptions {
  url: string;
  /** The shared secret for the HMAC; it comes from the environment and is never stored. */
  secret: string;
  /** A private CA the receiver's certificate chains to (PEM), besides the public roots. */
  caCertificatePem?: string;
  timeoutMs?: number;
  attempts?: number;
  retryDelayMs?: number;
  now?(): Date;
}

export const SIGNATURE_HEADER = 'x-certops-signature';
export const TIMESTAMP_HEADER = 'x-certops-timestamp';

/** HMAC-SHA256 over "<timestamp>.<body>", so a receiver can refuse both forgeries and replays. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Deploys by HTTPS POST of a JSON document (certificate, chain, key) signed with HMAC-SHA256,
 * with a timeout per try and retries with backoff on network errors and 5xx answers.
 */
export class WebhookTarget implements DeploymentTarget {
  constructor(private readonly options: WebhookOptions) {}

  private post(action: 'deploy' | 'rollback', bundle: CertificateBundle): Promise<void> {
    const record = certificateRecord(certificateBlocks(bundle.certificatePem, 'certificatePem')[0]);
    const body = JSON.stringify({ action, certificateId: record.id, fingerprintSha256: record.fingerprintSha256, notAfter: record.notAfter, ...bundle });
    const timestamp = String(Math.floor((this.options.now?.() ?? new Date()).getTime() / 1000));
    const send = () => new Promise<number>((resolve, reject) => {
      const req = request(this.options.url, {
        method: 'POST',
        timeout: this.options.timeoutMs ?? 10_000,
        ca: this.options.caCertificatePem ? [this.options.caCertificatePem] : undefined,
        headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: webhookSignature(this.options.secret, timestamp, body) },
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 10_000} ms`)));
      req.on('error', reject);
      req.end(body);
    });
    return this.withRetries(send);
  }

  private async withRetries(send: () => Promise<number>): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    let last = '';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, (this.options.retryDelayMs ?? 500) * 2 ** (i - 1)));
      try {
        const status = await send();
        if (status >= 200 && status < 300) return;
        last = `${this.options.url} answered ${status}`;
        if (status < 500 && status !== 429) break;
      } catch (err) {
        last = `${this.options.url}: ${(err as Error).message}`;
      }
    }
    throw new StepError('deploy', last);
  }

  deploy(bundle: CertificateBundle): Promise<void> {
    return this.post('deploy', bundle);
  }

  async rollback(_expectCurrent: string, previous: CertificateBundle): Promise<boolean> {
    await this.post('rollback', previous);
    return true;
  }
}
