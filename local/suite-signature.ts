import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ForbiddenError, UnauthorizedError } from '../shared/errors.ts';

/** The AWS credentials the suite's own functions sign local AWS-protocol calls with: new at every start, never written down. */
export interface SuiteCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function newSuiteCredentials(): SuiteCredentials {
  return { accessKeyId: `CERTOPSLOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64') };
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
/** How far a signature's time may be from now, as AWS allows. */
const MAX_SKEW_MS = 5 * 60_000;

/** `20261130T064423Z` → a Date, or undefined. */
function amzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

/**
 * Checks a Signature Version 4 request (as the AWS SDK signs it) against the suite's credentials:
 * the signature, within five minutes of `now`, over the body it came with and with X-Amz-Target
 * signed. Throws UnauthorizedError for credentials that are not the suite's, ForbiddenError for a
 * signature that does not match; the AWS SDK's signer recomputes it (@smithy/signature-v4).
 */
export async function verifySuiteSignature(req: IncomingMessage, body: Buffer, credentials: SuiteCredentials, now: Date): Promise<void> {
  const m = AUTHORIZATION.exec(String(req.headers.authorization ?? ''));
  if (!m) throw new UnauthorizedError('the Authorization header is not a Signature Version 4 signature', 'Authorization');
  const [, accessKeyId, , region, service, signedList, signature] = m;
  const known = Buffer.from(credentials.accessKeyId);
  if (accessKeyId.length !== known.length || !timingSafeEqual(Buffer.from(accessKeyId), known)) {
    throw new UnauthorizedError('these AWS credentials are not the suite\'s own: outside callers send Authorization: Bearer <token>', 'Authorization');
  }
  const signed = signedList.split(';');
  const date = amzDate(req.headers['x-amz-date'] as string | undefined);
  if (!date || Math.abs(date.getTime() - now.getTime()) > MAX_SKEW_MS) throw new ForbiddenError('X-Amz-Date is missing or more than five minutes from now', 'X-Amz-Date');
  if (!['host', 'x-amz-date', 'x-amz-target'].every((h) => signed.includes(h))) throw new ForbiddenError('the signature must cover Host, X-Amz-Date and X-Amz-Target', 'Authorization');
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== createHash('sha256').update(body).digest('hex')) throw new ForbiddenError('X-Amz-Content-Sha256 is not the hash of the body', 'X-Amz-Content-Sha256');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = req.headers[name];
    if (value === undefined) throw new ForbiddenError(`the signed header ${name} is missing`, 'Authorization');
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://local');
  } catch {
    throw new ForbiddenError('the signed request-target is not a path', 'path');
  }
  const request = new HttpRequest({ method: req.method, protocol: 'http:', hostname: 'local', path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body });
  const signer = new SignatureV4({ credentials, region, service, sha256: Hash.bind(null, 'sha256') });
  const expected = (await signer.sign(request, { signingDate: date, signableHeaders: new Set(signed) })).headers.authorization?.match(/Signature=([0-9a-f]{64})$/)?.[1] ?? '';
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new ForbiddenError('the request signature does not match', 'Authorization');
  }
}
