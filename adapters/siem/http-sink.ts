import { gzipSync } from 'node:zlib';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { retryAfterMs } from '../../shared/retry-after.ts';

export interface SendResult {
  ok: boolean;
  status?: number;
  /** How long the receiver asked to be left alone (Retry-After), if it did. */
  retryAfterMs?: number;
  error?: string;
}

export interface HttpSinkOptions {
  url: string;
  /** splunk-hec: events concatenated, "Authorization: Splunk"; elastic-bulk: NDJSON action and document lines; json: an array. */
  protocol: 'splunk-hec' | 'elastic-bulk' | 'json';
  token?: string;
  index?: string;
  gzip: boolean;
  caPem?: string;
  timeoutMs: number;
}

/** Posts a batch of records (each already in the sink's format) to an HTTP(S) collector. */
export class HttpSink {
  constructor(private readonly options: HttpSinkOptions) {}

  private body(records: string[]): { body: string; type: string } {
    if (this.options.protocol === 'splunk-hec') return { body: records.join('\n'), type: 'application/json' };
    if (this.options.protocol === 'elastic-bulk') {
      const action = JSON.stringify({ create: this.options.index ? { _index: this.options.index } : {} });
      return { body: `${records.map((r) => `${action}\n${r}`).join('\n')}\n`, type: 'application/x-ndjson' };
    }
    return { body: `[${records.join(',')}]`, type: 'application/json' };
  }

  send(records: string[]): Promise<SendResult> {
    const { body, type } = this.body(records);
    const payload = this.options.gzip ? gzipSync(body) : Buffer.from(body);
    const auth = this.options.token ? { authorization: this.options.protocol === 'splunk-hec' ? `Splunk ${this.options.token}` : this.options.protocol === 'elastic-bulk' ? `ApiKey ${this.options.token}` : `Bearer ${this.options.token}` } : {};
    const url = new URL(this.options.url);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(url, {
        method: 'POST',
        timeout: this.options.timeoutMs,
        ...(this.options.caPem ? { ca: [this.options.caPem] } : {}),
        headers: { 'content-type': type, 'content-length': payload.length, ...(this.options.gzip ? { 'content-encoding': 'gzip' } : {}), ...auth },
      }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ ok: status >= 200 && status < 300, status, retryAfterMs: retryAfterMs(res.headers['retry-after'] as string | undefined, Date.now()), ...(status >= 300 ? { error: `${url.host} answered ${status}` } : {}) });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      req.on('error', (err) => resolve({ ok: false, error: `${url.host}: ${err.message}` }));
      req.end(payload);
    });
  }
}
