import { ValidationError } from '../../shared/errors.ts';

/** An RFC 6962 log at `baseUrl` (the part before /ct/v1/), with backoff on 429 and 5xx (honouring Retry-After). */
export class Rfc6962Client {
  constructor(readonly baseUrl: string, private readonly attempts = 5, private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  private async getJson(path: string): Promise<Record<string, unknown>> {
    const url = `${this.baseUrl.replace(/\/$/, '')}/ct/v1/${path}`;
    for (let i = 0; ; i++) {
      const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (res.ok) return (await res.json()) as Record<string, unknown>;
      const retryable = res.status === 429 || res.status >= 500;
      if (!retryable || i + 1 >= this.attempts) throw new Error(`${url} answered ${res.status}`);
      const after = Number(res.headers.get('retry-after'));
      await this.sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 250 * 2 ** i);
    }
  }

  /** The raw get-sth answer (its signature is checked by the caller). */
  getSth(): Promise<Record<string, unknown>> {
    return this.getJson('get-sth');
  }

  /** Entries start..end inclusive; the log may return fewer (its own batch limit), never more. */
  async getEntries(start: number, end: number): Promise<{ leafInput: Buffer }[]> {
    const body = await this.getJson(`get-entries?start=${start}&end=${end}`);
    if (!Array.isArray(body.entries)) throw new ValidationError(`${this.baseUrl} get-entries is malformed`, 'get-entries');
    return (body.entries as { leaf_input: string }[]).slice(0, end - start + 1).map((e) => ({ leafInput: Buffer.from(e.leaf_input, 'base64') }));
  }

  async getConsistency(first: number, second: number): Promise<Buffer[]> {
    const body = await this.getJson(`get-sth-consistency?first=${first}&second=${second}`);
    return ((body.consistency ?? []) as string[]).map((p) => Buffer.from(p, 'base64'));
  }

  /** The index and audit path of a leaf hash in the tree of `treeSize`; throws when the log does not know it. */
  async getProofByHash(hash: Buffer, treeSize: number): Promise<{ leafIndex: number; auditPath: Buffer[] }> {
    const body = await this.getJson(`get-proof-by-hash?hash=${encodeURIComponent(hash.toString('base64'))}&tree_size=${treeSize}`);
    return { leafIndex: Number(body.leaf_index), auditPath: ((body.audit_path ?? []) as string[]).map((p) => Buffer.from(p, 'base64')) };
  }
}
