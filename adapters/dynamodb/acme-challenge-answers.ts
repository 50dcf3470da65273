import type { AcmeChallengeAnswers } from '../../shared/ports.ts';
import { batchWrite } from './batch.ts';
import { getItem, type Table } from './table.ts';

// A token is the CA's (base64url, at least 128 bits: RFC 8555 8.3), so it is the key as it stands.
const key = (token: string) => ({ pk: `ACMECHALLENGE#${token}`, sk: 'HTTP01' });

/** http-01 answers in the table, each until its order's validation ends (and then gone with the item's TTL). */
export class DynamoAcmeChallengeAnswers implements AcmeChallengeAnswers {
  constructor(private readonly table: Table) {}

  async put(token: string, keyAuthorization: string, until: Date): Promise<void> {
    await batchWrite(this.table, [{ put: { ...key(token), keyAuthorization, until: until.toISOString(), ttl: Math.ceil(until.getTime() / 1000) } }]);
  }

  async get(token: string, now: Date): Promise<string | undefined> {
    const item = await getItem(this.table, key(token));
    return item && String(item.until) > now.toISOString() ? String(item.keyAuthorization) : undefined;
  }
}
