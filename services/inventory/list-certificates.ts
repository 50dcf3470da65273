import type { StoredCertificate } from '../../shared/model.ts';
import type { CertificateFilter, CertificateStore } from '../../shared/ports.ts';

/**
 * A page of the inventory. Expired is a fact of the clock: a certificate that expired since the
 * last sweep (hourly) still says active, and `status=expired` lists it all the same, on the first
 * page, before those the sweep marked.
 */
export async function listCertificates(filter: CertificateFilter, limit: number, nextToken: string | undefined, now: Date, certificates: Pick<CertificateStore, 'list'>): Promise<{ items: StoredCertificate[]; nextToken?: string; itemsRead: number }> {
  const page = await certificates.list(filter, limit, nextToken);
  if (filter.status !== 'expired' || nextToken) return page;
  const unswept = await certificates.list({ ...filter, status: undefined, expiringBefore: now }, limit);
  const extra = unswept.items.filter((c) => !page.items.some((p) => p.id === c.id));
  return { ...page, items: [...extra, ...page.items], itemsRead: page.itemsRead + unswept.itemsRead };
}
