import { ValidationError } from '../../shared/errors.ts';
import type { CertificateStatus } from '../../shared/model.ts';
import { normaliseName } from '../../shared/names.ts';
import { CERTIFICATE_SORTS, type CertificateFilter } from '../../shared/ports.ts';
import { oneOf, queryInteger } from '../../shared/input.ts';

const STATUSES: CertificateStatus[] = ['active', 'superseded', 'revoked', 'expired', 'discovered'];
const DAY_MS = 86_400_000;

/** GET /certificates query parameters → a store filter, each checked and named in errors. */
export function parseListQuery(query: Record<string, string>, now: Date): { filter: CertificateFilter; limit: number; nextToken?: string } {
  const filter: CertificateFilter = {};
  for (const field of ['environment', 'owner', 'issuer'] as const) if (query[field]) filter[field] = query[field];
  if (query.status) {
    if (!STATUSES.includes(query.status as CertificateStatus)) throw new ValidationError(`status must be one of ${STATUSES.join(', ')}`, 'status');
    filter.status = query.status;
  }
  if (query.domain) filter.domain = normaliseName(query.domain, 'domain');
  if (query.expiringWithinDays !== undefined) {
    filter.expiringBefore = new Date(now.getTime() + queryInteger(query, 'expiringWithinDays', 30, 0, 3650) * DAY_MS);
  }
  if (query.sort !== undefined) {
    filter.sort = oneOf(query, 'sort', CERTIFICATE_SORTS, 'newest');
    // Orders the store cannot give with these filters are refused, not given in another order.
    if (filter.domain && filter.sort !== 'newest') throw new ValidationError('sort: a domain filter lists by name; leave sort out', 'sort');
    if (filter.expiringBefore && !filter.sort.endsWith('expiry')) throw new ValidationError('sort: expiringWithinDays lists by expiry; use sort=expiry or -expiry, or leave sort out', 'sort');
    if (filter.sort.endsWith('expiry') && filter.status && !['active', 'discovered'].includes(filter.status)) throw new ValidationError(`sort: ${filter.sort} lists the certificates in use (active or discovered), never ${filter.status} ones`, 'sort');
  }
  return { filter, limit: queryInteger(query, 'limit', 50, 1, 500), nextToken: query.nextToken || undefined };
}
