import type { RequestStore } from '../../shared/ports.ts';
import type { CertificateRequest } from '../../shared/model.ts';
import { getItem, putIfAbsent, setFields, withoutKeys, type Table } from './table.ts';

const key = (id: string) => ({ pk: `REQ#${id}`, sk: 'REQ' });

export class DynamoRequestStore implements RequestStore {
  constructor(private readonly table: Table) {}

  create(request: CertificateRequest): Promise<boolean> {
    return putIfAbsent(this.table, { ...request, ...key(request.requestId) });
  }

  async get(id: string): Promise<CertificateRequest | undefined> {
    const item = await getItem(this.table, key(id));
    return item && withoutKeys<CertificateRequest>(item);
  }

  update(id: string, fields: Partial<CertificateRequest>): Promise<void> {
    return setFields(this.table, key(id), fields);
  }

  async claimIdempotencyKey(idempotencyKey: string, requestId: string): Promise<string> {
    const k = { pk: `IDEM#${idempotencyKey}`, sk: 'IDEM' };
    if (await putIfAbsent(this.table, { ...k, requestId })) return requestId;
    return (await getItem(this.table, k))!.requestId as string;
  }
}
