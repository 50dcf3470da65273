import { isAscii } from 'node:buffer';
import { ValidationError } from '../../shared/errors.ts';
import { LogHttp } from './log-http.ts';

/** An RFC 6962 log at `baseUrl` (the part before /ct/v1/), asked politely (see LogHttp). */
export class Rfc6962Client {
  constructor(readonly baseUrl: string, private readonly http = new LogHttp()) {}

  /**
   * A log answers in ASCII (base64 and numbers): read as such, a get-entries answer of megabytes
   * costs a fraction of decoding it as UTF-8; anything else is decoded as UTF-8.
   */
  private async getJson(path: string): Promise<Record<string, unknown>> {
    const bytes = Buffer.from(await (await this.http.get(`${this.baseUrl.replace(/\/$/, '')}/ct/v1/${path}`)).arrayBuffer());
    return JSON.parse(bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8')) as Record<string, unknown>;
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
