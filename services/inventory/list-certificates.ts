import { ValidationError } from '../../shared/errors.ts';
import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateFilter, CertificateStore } from '../../shared/ports.ts';

type Store = Pick<CertificateStore, 'list'>;
type ListPage = { items: StoredCertificate[]; nextToken?: string; itemsRead: number };

/**
 * The two parts an expired listing reads in turn, each named by the letter its page tokens start
 * with: certificates past their notAfter the sweep has not marked yet (still active or
 * discovered), then those it marked expired. The two never hold the same certificate.
 */
const UNSWEPT = 'u';
const SWEPT = 's';

/** Where an expired listing resumes: its part, and the store's token in it (undefined: from the part's start). */
function resumePoint(nextToken: string | undefined): { part: string; token?: string } {
  if (!nextToken) return { part: UNSWEPT };
  const part = nextToken[0];
  if (part !== UNSWEPT && part !== SWEPT) throw new ValidationError('nextToken is not one this listing returned (status=expired pages carry their own tokens)', 'nextToken');
  return { part, token: nextToken.slice(1) || undefined };
}

/** One page of the swept part, at most `limit` items; its token says to go on there. */
async function sweptPage(filter: CertificateFilter, limit: number, token: string | undefined, store: Store): Promise<ListPage> {
  const page = await store.list(filter, limit, token);
  return { ...page, nextToken: page.nextToken && `${SWEPT}${page.nextToken}` };
}

/**
 * A page of `status=expired`: the unswept part first, the page filled from the swept part once the
 * unswept one is read to its end. Every certificate comes once across the pages, as long as the
 * sweep does not mark one while they are read (it then may come again, in the swept part).
 */
async function expiredPage(filter: CertificateFilter, limit: number, nextToken: string | undefined, now: Date, store: Store): Promise<ListPage> {
  const { part, token } = resumePoint(nextToken);
  if (part === SWEPT) return sweptPage(filter, limit, token, store);
  const unswept = await store.list({ ...filter, status: undefined, expiringBefore: now }, limit, token);
  if (unswept.nextToken) return { ...unswept, nextToken: `${UNSWEPT}${unswept.nextToken}` };
  // A full page ends here: the next one starts the swept part (and may come back empty).
  if (unswept.items.length >= limit) return { ...unswept, nextToken: SWEPT };
  const swept = await sweptPage(filter, limit - unswept.items.length, undefined, store);
  return { items: [...unswept.items, ...swept.items], nextToken: swept.nextToken, itemsRead: unswept.itemsRead + swept.itemsRead };
}

/**
 * A page of the inventory. Expired is a fact of the clock: a certificate that expired since the
 * last sweep (hourly) still says active, and `status=expired` lists it all the same, before those
 * the sweep marked.
 */
export async function listCertificates(filter: CertificateFilter, limit: number, nextToken: string | undefined, now: Date, certificates: Store): Promise<ListPage> {
  if (filter.status === 'expired') return expiredPage(filter, limit, nextToken, now, certificates);
  return certificates.list(filter, limit, nextToken);
}
