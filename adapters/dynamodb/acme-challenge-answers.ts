import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AcmeChallengeAnswers } from '../../shared/ports.ts';
import { conditionalWrite, getItem, type Table } from './table.ts';

/** The item's sort key for each challenge type whose answers certops serves. */
const SORT_KEYS = { 'http-01': 'HTTP01', 'tls-alpn-01': 'TLSALPN01' } as const;

/**
 * Challenge answers in the table, each until its order's validation ends (and then gone with the
 * item's TTL). http-01 answers are keyed by the CA's token (base64url, RFC 8555 8.3, so the key as
 * it stands); tls-alpn-01 answers by the DNS name the CA connects for (RFC 8737 3), one order's at
 * a time: a live answer of another order is never overwritten.
 */
export class DynamoAcmeChallengeAnswers implements AcmeChallengeAnswers {
  constructor(private readonly table: Table, private readonly challenge: keyof typeof SORT_KEYS = 'http-01') {}

  private key(key: string) {
    return { pk: `ACMECHALLENGE#${key}`, sk: SORT_KEYS[this.challenge] };
  }

  put(key: string, keyAuthorization: string, until: Date, now: Date): Promise<boolean> {
    return conditionalWrite(this.table, new PutCommand({
      TableName: this.table.name,
      Item: { ...this.key(key), keyAuthorization, until: until.toISOString(), ttl: Math.ceil(until.getTime() / 1000) },
      ConditionExpression: 'attribute_not_exists(pk) OR #u < :now OR keyAuthorization = :ka',
      ExpressionAttributeNames: { '#u': 'until' },
      ExpressionAttributeValues: { ':now': now.toISOString(), ':ka': keyAuthorization },
    }));
  }

  async get(key: string, now: Date): Promise<string | undefined> {
    const item = await getItem(this.table, this.key(key));
    return item && String(item.until) > now.toISOString() ? String(item.keyAuthorization) : undefined;
  }

  async remove(key: string, keyAuthorization: string): Promise<void> {
    await conditionalWrite(this.table, new DeleteCommand({ TableName: this.table.name, Key: this.key(key), ConditionExpression: 'keyAuthorization = :ka', ExpressionAttributeValues: { ':ka': keyAuthorization } }));
  }
}
