import { UpstreamError } from '../../shared/errors.ts';
import type { RevocationFetcher } from '../../shared/ports.ts';

export interface FetchBounds {
  /** For the whole exchange: connecting, sending, and reading the body. */
  timeoutMs: number;
  /** Bodies larger than this are refused: a CRL of a large public CA is a few MB, an OCSP response a few KB. */
  maxCrlBytes: number;
  maxOcspBytes: number;
}

export const DEFAULT_FETCH_BOUNDS: FetchBounds = { timeoutMs: 5000, maxCrlBytes: 20 * 1024 * 1024, maxOcspBytes: 64 * 1024 };

function httpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpstreamError(`${url} is not a URL`, url);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UpstreamError(`${url}: only http and https are fetched`, url);
  return parsed;
}

/** Reads the body, refusing it as soon as it passes `maxBytes` (a declared Content-Length over it is refused before reading). */
async function boundedBody(res: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooBig = () => new UpstreamError(`${url} answered with more than ${maxBytes} bytes`, url);
  if (declared > maxBytes) throw tooBig();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body ?? []) {
    total += chunk.length;
    if (total > maxBytes) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** What went wrong with a fetch, in words (undici reports a refused connection as "fetch failed" with the reason in `cause`). */
function failure(err: unknown, url: string, timeoutMs: number): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new UpstreamError(`${url} did not answer within ${timeoutMs} ms`, url);
  return new UpstreamError(`${url} could not be reached: ${e.cause?.code ?? e.cause?.message ?? e.message}`, url);
}

/**
 * Fetches CRLs (GET) and OCSP responses (POST, RFC 6960 A.1) over HTTP(S) within `bounds`. A
 * status other than 200, a redirect (not followed: a certificate's URL is taken as it is), a body
 * over the size bound or no answer in time is an UpstreamError naming the URL.
 */
export function httpRevocationFetcher(bounds: FetchBounds = DEFAULT_FETCH_BOUNDS): RevocationFetcher {
  const exchange = async (url: string, init: RequestInit, maxBytes: number): Promise<Uint8Array> => {
    const target = httpUrl(url);
    const signal = AbortSignal.timeout(bounds.timeoutMs);
    try {
      const res = await fetch(target, { ...init, redirect: 'manual', signal });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new UpstreamError(`${url} answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (a redirect, not followed)' : ''}`, url);
      }
      return await boundedBody(res, url, maxBytes);
    } catch (err) {
      throw failure(err, url, bounds.timeoutMs);
    }
  };
  return {
    crl: (url) => exchange(url, { method: 'GET' }, bounds.maxCrlBytes),
    ocsp: (url, request) => exchange(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' }, body: Buffer.from(request) }, bounds.maxOcspBytes),
  };
}
