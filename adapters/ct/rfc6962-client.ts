import { ValidationError } from '../../shared/errors.ts';

export interface SignedTreeHead {
  treeSize: number;
  timestamp: number;
  rootHash: string;
  signature: string;
}

export interface RawEntry {
  leafInput: Buffer;
  extraData: Buffer;
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

/** An RFC 6962 log at `baseUrl` (the part before /ct/v1/). */
export class Rfc6962Client {
  constructor(readonly baseUrl: string) {}

  async getSth(): Promise<SignedTreeHead> {
    const sth = (await getJson(`${this.baseUrl.replace(/\/$/, '')}/ct/v1/get-sth`)) as Record<string, unknown>;
    if (typeof sth.tree_size !== 'number' || typeof sth.sha256_root_hash !== 'string') throw new ValidationError(`${this.baseUrl} get-sth is malformed`, 'get-sth');
    return { treeSize: sth.tree_size, timestamp: Number(sth.timestamp), rootHash: sth.sha256_root_hash, signature: String(sth.tree_head_signature ?? '') };
  }

  /** Entries start..end inclusive; the log may return fewer (its own batch limit), never more. */
  async getEntries(start: number, end: number): Promise<RawEntry[]> {
    const body = (await getJson(`${this.baseUrl.replace(/\/$/, '')}/ct/v1/get-entries?start=${start}&end=${end}`)) as { entries?: { leaf_input: string; extra_data: string }[] };
    if (!Array.isArray(body.entries)) throw new ValidationError(`${this.baseUrl} get-entries is malformed`, 'get-entries');
    return body.entries.slice(0, end - start + 1).map((e) => ({ leafInput: Buffer.from(e.leaf_input, 'base64'), extraData: Buffer.from(e.extra_data ?? '', 'base64') }));
  }
}
