import { ValidationError } from '../errors.ts';

/**
 * A CT log's URL in the one form certops keys the log by: an http(s) URL with its host lowercased,
 * no credentials, query or fragment, and no trailing slash. Log lists write the base URL (RFC 6962
 * 4: the part before `/ct/v1/`; static-ct-api: the monitoring prefix) with a trailing slash and
 * people often without: both name one log, watched once.
 * @throws ValidationError on `field` for anything else.
 */
export function canonicalLogUrl(input: string, field = 'url'): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new ValidationError(`${field} must be an http(s) URL`, field);
  }
  if (!/^https?:$/.test(url.protocol)) throw new ValidationError(`${field} must be an http(s) URL`, field);
  if (url.username || url.password || url.search || url.hash) throw new ValidationError(`${field} must be a log's base URL, without credentials, query or fragment`, field);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
