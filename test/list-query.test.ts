import { describe, expect, it } from 'vitest';
import { parseListQuery } from '../services/inventory/list-query.ts';

const now = new Date('2026-12-01T00:00:00Z');
const refusal = (query: Record<string, string>) => {
  try {
    parseListQuery(query, now);
  } catch (err) {
    return { field: (err as { field?: string }).field, status: (err as { status?: number }).status, message: (err as Error).message };
  }
  return undefined;
};

/** GET /certificates' query: each order the store can give with the filters asked, and a 400 naming `sort` for one it cannot. */
describe('the inventory listing\'s query', () => {
  it('takes each order alone or with the filters that keep it', () => {
    expect(parseListQuery({ sort: 'oldest', owner: 'team-a' }, now).filter).toEqual({ owner: 'team-a', sort: 'oldest' });
    expect(parseListQuery({ sort: '-expiry', expiringWithinDays: '30' }, now).filter).toMatchObject({ sort: '-expiry', expiringBefore: new Date('2026-12-31T00:00:00Z') });
    expect(parseListQuery({ sort: 'expiry', status: 'discovered' }, now).filter).toMatchObject({ sort: 'expiry', status: 'discovered' });
    expect(parseListQuery({}, now).filter.sort).toBeUndefined();
  });

  it('refuses an order it would not honour, naming sort: by age within an expiry window, by expiry among certificates no longer in use, anything but the name order for a domain', () => {
    expect(refusal({ sort: 'sideways' })).toMatchObject({ field: 'sort', status: 400 });
    expect(refusal({ sort: 'oldest', expiringWithinDays: '30' })).toMatchObject({ field: 'sort', status: 400, message: expect.stringContaining('expiringWithinDays lists by expiry') });
    expect(refusal({ sort: 'expiry', status: 'revoked' })).toMatchObject({ field: 'sort', status: 400, message: expect.stringContaining('never revoked ones') });
    expect(refusal({ sort: 'expiry', domain: 'example.com' })).toMatchObject({ field: 'sort', status: 400 });
  });
});
