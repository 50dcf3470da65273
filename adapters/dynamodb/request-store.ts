import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock, RequestLease, RequestStore } from '../../shared/ports.ts';
import type { LeaseStore } from '../../shared/lease.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import { conditionalWrite, expiresAfter, getItem, isConditionFailure, putIfAbsent, queryAll, queryPage, setFields, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `REQ#${id}`, sk: 'REQ' });
/** An Idempotency-Key is remembered this long after its first use: a retry after that makes a new request. */
const IDEMPOTENCY_KEY_DAYS = 7;
/**
 * Waiting requests sit in sparse index partitions: pending approval by expiry (so lapsing them
 * reads only what lapses), pending validation by id, approved and not yet issued by when they were
 * asked (what the recovery sweep finishes); a request leaves them when it moves on.
 */
const pendingKeys = (r: Pick<CertificateRequest, 'status' | 'expiresAt' | 'requestId'> & { createdAt?: string }) =>
  r.status === 'pending_approval' ? { gsi1pk: 'PENDING', gsi1sk: `${r.expiresAt}#${r.requestId}` }
    : r.status === 'pending_validation' ? { gsi1pk: 'VALIDATING', gsi1sk: r.requestId }
      : r.status === 'approved' ? { gsi1pk: 'ISSUING', gsi1sk: `${r.createdAt}#${r.requestId}` }
        : { gsi1pk: undefined, gsi1sk: undefined };

/**
 * Every request, by creation, in a partition of the byStatus index that no certificate uses
 * (certificates sit in STATUS#<status>): listing requests reads nothing else.
 */
const listedKeys = (r: Pick<CertificateRequest, 'createdAt' | 'requestId'>) => ({ gsi5pk: 'REQUESTS', gsi5sk: `${r.createdAt}#${r.requestId}` });

/** The attributes of a request's lease (see DynamoRequestLeases); never part of the request as read. */
const LEASE = ['leaseOwner', 'leaseUntil', 'leaseSince'] as const;

function requestOf(item: Record<string, unknown>): CertificateRequest {
  const request = withoutKeys<CertificateRequest & Partial<Record<(typeof LEASE)[number], string>>>(item);
  for (const attribute of LEASE) delete request[attribute];
  return request;
}

export class DynamoRequestStore implements RequestStore {
  constructor(private readonly table: Table) {}

  create(request: CertificateRequest, lease?: RequestLease): Promise<boolean> {
    const index = Object.fromEntries(Object.entries(pendingKeys(request)).filter(([, v]) => v !== undefined));
    const held = lease ? { leaseOwner: lease.owner, leaseUntil: lease.until.toISOString(), leaseSince: lease.since.toISOString() } : {};
    return putIfAbsent(this.table, { ...request, ...held, ...key(request.requestId), ...index, ...listedKeys(request) });
  }

  async get(id: string): Promise<CertificateRequest | undefined> {
    const item = await getItem(this.table, key(id));
    return item && requestOf(item);
  }

  update(id: string, fields: Partial<CertificateRequest>): Promise<void> {
    return setFields(this.table, key(id), fields);
  }

  async transition(id: string, from: CertificateRequest['status'], fields: Partial<CertificateRequest>, releasing?: string): Promise<boolean> {
    const createdAt = fields.status === 'approved' ? (await this.get(id))?.createdAt : undefined;
    const all: Record<string, unknown> = {
      ...fields, ...(fields.status ? pendingKeys({ status: fields.status, expiresAt: fields.expiresAt, requestId: id, createdAt }) : {}),
      ...(releasing ? Object.fromEntries(LEASE.map((a) => [a, undefined])) : {}),
    };
    const sets = Object.entries(all).filter(([, v]) => v !== undefined);
    const removes = Object.entries(all).filter(([, v]) => v === undefined).map(([k]) => k);
    const names: Record<string, string> = { '#status': 'status', ...(releasing ? { '#leaseOwner': 'leaseOwner' } : {}) };
    const values: Record<string, unknown> = { ':from': from, ...(releasing ? { ':owner': releasing } : {}) };
    sets.forEach(([k, v], i) => ((names[`#s${i}`] = k), (values[`:s${i}`] = v)));
    removes.forEach((k, i) => (names[`#r${i}`] = k));
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name,
        Key: key(id),
        UpdateExpression: [sets.length ? `SET ${sets.map((_, i) => `#s${i} = :s${i}`).join(', ')}` : '', removes.length ? `REMOVE ${removes.map((_, i) => `#r${i}`).join(', ')}` : ''].join(' ').trim(),
        ConditionExpression: releasing ? '#status = :from AND #leaseOwner = :owner' : '#status = :from',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async pendingExpiringBefore(before: Date): Promise<CertificateRequest[]> {
    const items = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'PENDING', skBefore: before.toISOString() });
    return items.map(requestOf);
  }

  async awaitingValidation(): Promise<CertificateRequest[]> {
    return (await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'VALIDATING' })).map(requestOf);
  }

  async claimIdempotencyKey(idempotencyKey: string, requestId: string, at: Date): Promise<{ requestId: string; claimedAt: string }> {
    const k = { pk: `IDEM#${idempotencyKey}`, sk: 'IDEM' };
    if (await putIfAbsent(this.table, { ...k, requestId, claimedAt: at.toISOString(), ...expiresAfter(at, IDEMPOTENCY_KEY_DAYS) })) return { requestId, claimedAt: at.toISOString() };
    const item = (await getItem(this.table, k))!;
    return { requestId: String(item.requestId), claimedAt: String(item.claimedAt ?? '1970-01-01T00:00:00Z') };
  }

  async reclaimIdempotencyKey(idempotencyKey: string, from: string, to: string, at: Date): Promise<boolean> {
    try {
      await this.table.doc.send(new UpdateCommand({
        TableName: this.table.name, Key: { pk: `IDEM#${idempotencyKey}`, sk: 'IDEM' },
        UpdateExpression: 'SET requestId = :to, claimedAt = :at', ConditionExpression: 'requestId = :from',
        ExpressionAttributeValues: { ':to': to, ':from': from, ':at': at.toISOString() },
      }));
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async issuingBefore(before: Date): Promise<CertificateRequest[]> {
    const items = await queryAll(this.table, { index: 'gsi1', pkName: 'gsi1pk', pk: 'ISSUING', skBefore: before.toISOString() });
    return items.map(requestOf);
  }

  async list(page: { pending: boolean; limit: number; nextToken?: string }): Promise<{ items: CertificateRequest[]; nextToken?: string }> {
    const found = await queryPage(this.table, page.pending
      ? { index: 'gsi1', pkName: 'gsi1pk', pk: 'PENDING', limit: page.limit, nextToken: page.nextToken }
      : { index: 'byStatus', pkName: 'gsi5pk', pk: 'REQUESTS', limit: page.limit, nextToken: page.nextToken, newestFirst: true });
    return { items: found.items.map(requestOf), ...(found.nextToken ? { nextToken: found.nextToken } : {}) };
  }
}

/**
 * Leases on requests, kept in the request's own item (no lock item to write and delete per
 * issuance): taken only while the request is approved (the one status where work runs under a
 * lease), so a renewal that arrives after the work moved the request on takes nothing. A lease
 * taken or renewed before `ownersGoneBefore` (a local start) belongs to a dead process and counts
 * as free; each take stamps its time, so one taken over since is not free again.
 * Resources are request ids.
 */
export class DynamoRequestLeases implements LeaseStore {
  constructor(private readonly table: Table, private readonly clock: Clock, private readonly ownersGoneBefore?: Date) {}

  acquire(requestId: string, owner: string, until: Date): Promise<boolean> {
    const now = this.clock.now().toISOString();
    return conditionalWrite(this.table, new UpdateCommand({
      TableName: this.table.name, Key: key(requestId),
      UpdateExpression: 'SET #o = :owner, #u = :until, #s = :now',
      ConditionExpression: `#status = :approved AND (attribute_not_exists(#o) OR #o = :owner OR #u < :now${this.ownersGoneBefore ? ' OR #s < :gone' : ''})`,
      ExpressionAttributeNames: { '#o': 'leaseOwner', '#u': 'leaseUntil', '#s': 'leaseSince', '#status': 'status' },
      ExpressionAttributeValues: { ':owner': owner, ':until': until.toISOString(), ':now': now, ':approved': 'approved', ...(this.ownersGoneBefore ? { ':gone': this.ownersGoneBefore.toISOString() } : {}) },
    }));
  }

  async release(requestId: string, owner: string): Promise<void> {
    await conditionalWrite(this.table, new UpdateCommand({
      TableName: this.table.name, Key: key(requestId),
      UpdateExpression: 'REMOVE #o, #u, #s', ConditionExpression: '#o = :owner',
      ExpressionAttributeNames: { '#o': 'leaseOwner', '#u': 'leaseUntil', '#s': 'leaseSince' },
      ExpressionAttributeValues: { ':owner': owner },
    }));
  }
}
