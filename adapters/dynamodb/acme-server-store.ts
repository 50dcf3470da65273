import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AcmeAccount, AcmeAuthorization, AcmeExternalAccountKey, AcmeOrder, AcmeServerStore } from '../../shared/acme-server.ts';
import { batchWrite, getItems } from './batch.ts';
import { conditionalWrite, getItem, putIfAbsent, queryPage, setFields, withoutKeys, isConditionFailure, type Key, type Table } from './table.ts';

const nonceKey = (nonce: string) => ({ pk: `ACMENONCE#${nonce}`, sk: 'NONCE' });
const accountKey = (id: string) => ({ pk: `ACMEACCOUNT#${id}`, sk: 'ACCOUNT' });
/** One item per account key (its thumbprint): a key belongs to one account (RFC 8555 7.3.1). */
const keyPointer = (thumbprint: string) => ({ pk: `ACMEKEY#${thumbprint}`, sk: 'KEY' });
const orderKey = (id: string) => ({ pk: `ACMEORDER#${id}`, sk: 'ORDER' });
const authzKey = (id: string) => ({ pk: `ACMEAUTHZ#${id}`, sk: 'AUTHZ' });
const ariKey = (certId: string) => ({ pk: `ACMEARI#${certId}`, sk: 'ORDER' });
const eabKey = (keyId: string) => ({ pk: `ACMEEAB#${keyId}`, sk: 'KEY' });

/** Orders and authorizations are gone a while after they expire (the table's TTL); accounts and certificates stay. */
const ttlOf = (expires: string) => ({ ttl: Math.ceil(Date.parse(expires) / 1000) + 30 * 86_400 });

/** Sets fields on an item while its status is still `from`. */
async function transition(table: Table, key: Key, from: string, fields: Record<string, unknown>): Promise<boolean> {
  try {
    await setFields(table, key, fields, [], { status: from });
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/** The ACME server's accounts, orders, authorizations and nonces in the single table. */
export class DynamoAcmeServerStore implements AcmeServerStore {
  constructor(private readonly table: Table) {}

  async putNonce(nonce: string, until: Date): Promise<void> {
    await batchWrite(this.table, [{ put: { ...nonceKey(nonce), until: until.toISOString(), ttl: Math.ceil(until.getTime() / 1000) } }]);
  }

  consumeNonce(nonce: string, now: Date): Promise<boolean> {
    // Deleted in the same step it is checked: two requests carrying one nonce cannot both pass.
    return conditionalWrite(this.table, new DeleteCommand({
      TableName: this.table.name, Key: nonceKey(nonce), ConditionExpression: 'attribute_exists(pk) AND #u > :now',
      ExpressionAttributeNames: { '#u': 'until' }, ExpressionAttributeValues: { ':now': now.toISOString() },
    }));
  }

  async accountByThumbprint(thumbprint: string): Promise<AcmeAccount | undefined> {
    const pointer = await getItem(this.table, keyPointer(thumbprint));
    return pointer ? this.account(String(pointer.accountId)) : undefined;
  }

  async account(accountId: string): Promise<AcmeAccount | undefined> {
    const item = await getItem(this.table, accountKey(accountId));
    return item && withoutKeys<AcmeAccount>(item);
  }

  async createAccount(account: AcmeAccount): Promise<AcmeAccount> {
    // The key's pointer first: of two creations with one key, one account is made. A pointer whose
    // account was never written (a crash between the writes) is completed with this one's details.
    if (!(await putIfAbsent(this.table, { ...keyPointer(account.thumbprint), accountId: account.accountId }))) {
      const holder = String((await getItem(this.table, keyPointer(account.thumbprint)))!.accountId);
      const existing = await this.account(holder);
      if (existing) return existing;
      account = { ...account, accountId: holder };
    }
    await putIfAbsent(this.table, { ...accountKey(account.accountId), ...account });
    return (await this.account(account.accountId))!;
  }

  async updateAccount(accountId: string, fields: Partial<Pick<AcmeAccount, 'contact' | 'status'>>): Promise<void> {
    await setFields(this.table, accountKey(accountId), fields);
  }

  async changeKey(accountId: string, from: string, to: { jwk: Record<string, string>; thumbprint: string }): Promise<string | undefined> {
    if (!(await putIfAbsent(this.table, { ...keyPointer(to.thumbprint), accountId }))) {
      const holder = String((await getItem(this.table, keyPointer(to.thumbprint)))!.accountId);
      // Our own pointer: a retry of a change that died before it finished.
      if (holder !== accountId) return holder;
    }
    const moved = await conditionalWrite(this.table, new UpdateCommand({
      TableName: this.table.name, Key: accountKey(accountId), UpdateExpression: 'SET jwk = :jwk, thumbprint = :to',
      ConditionExpression: 'thumbprint = :from OR thumbprint = :to', ExpressionAttributeValues: { ':jwk': to.jwk, ':to': to.thumbprint, ':from': from },
    }));
    if (!moved) {
      // Another change moved the account first: this key's pointer goes, and the client is told to look again.
      await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: keyPointer(to.thumbprint), ConditionExpression: 'accountId = :a', ExpressionAttributeValues: { ':a': accountId } })).catch(() => undefined);
      return accountId;
    }
    if (from !== to.thumbprint) await this.table.doc.send(new DeleteCommand({ TableName: this.table.name, Key: keyPointer(from) }));
    return undefined;
  }

  async createOrder(order: AcmeOrder, authorizations: AcmeAuthorization[]): Promise<void> {
    // The account's list of orders (RFC 8555 7.1.2.1) is one pointer per order in the account's partition.
    const listed = { pk: accountKey(order.accountId).pk, sk: `ORDER#${order.createdAt}#${order.orderId}`, orderId: order.orderId, ...ttlOf(order.expires) };
    await batchWrite(this.table, [...authorizations.map((a) => ({ put: { ...authzKey(a.authzId), ...a, ...ttlOf(a.expires) } })), { put: listed }]);
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...orderKey(order.orderId), ...order, ...ttlOf(order.expires) }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async order(orderId: string): Promise<AcmeOrder | undefined> {
    const item = await getItem(this.table, orderKey(orderId));
    return item && withoutKeys<AcmeOrder>(item);
  }

  async accountOrders(accountId: string, limit: number, nextToken?: string): Promise<{ orderIds: string[]; nextToken?: string }> {
    const page = await queryPage(this.table, { pkName: 'pk', pk: accountKey(accountId).pk, skPrefix: 'ORDER#', newestFirst: true, limit, nextToken });
    return { orderIds: page.items.map((i) => String(i.orderId)), nextToken: page.nextToken };
  }

  transitionOrder(orderId: string, from: AcmeOrder['status'], fields: Partial<AcmeOrder>): Promise<boolean> {
    return transition(this.table, orderKey(orderId), from, fields);
  }

  async authorization(authzId: string): Promise<AcmeAuthorization | undefined> {
    const item = await getItem(this.table, authzKey(authzId));
    return item && withoutKeys<AcmeAuthorization>(item);
  }

  async authorizations(authzIds: string[]): Promise<(AcmeAuthorization | undefined)[]> {
    return (await getItems(this.table, authzIds.map(authzKey))).map((item) => item && withoutKeys<AcmeAuthorization>(item));
  }

  claimValidation(authzId: string, until: Date, now: Date): Promise<boolean> {
    return conditionalWrite(this.table, new UpdateCommand({
      TableName: this.table.name, Key: authzKey(authzId), UpdateExpression: 'SET validatingUntil = :until',
      ConditionExpression: '#s = :pending AND (attribute_not_exists(validatingUntil) OR validatingUntil < :now)',
      ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':until': until.toISOString(), ':now': now.toISOString(), ':pending': 'pending' },
    }));
  }

  transitionAuthorization(authzId: string, from: AcmeAuthorization['status'], fields: Partial<AcmeAuthorization>): Promise<boolean> {
    return transition(this.table, authzKey(authzId), from, fields);
  }

  async putRenewalPointer(ariCertId: string, orderId: string): Promise<void> {
    await batchWrite(this.table, [{ put: { ...ariKey(ariCertId), orderId } }]);
  }

  async orderByAriCertId(ariCertId: string): Promise<string | undefined> {
    const item = await getItem(this.table, ariKey(ariCertId));
    return item ? String(item.orderId) : undefined;
  }

  async putExternalAccountKey(key: AcmeExternalAccountKey): Promise<void> {
    await this.table.doc.send(new PutCommand({ TableName: this.table.name, Item: { ...eabKey(key.keyId), ...key }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async externalAccountKey(keyId: string): Promise<AcmeExternalAccountKey | undefined> {
    const item = await getItem(this.table, eabKey(keyId));
    return item && withoutKeys<AcmeExternalAccountKey>(item);
  }

  bindExternalAccountKey(keyId: string, accountId: string): Promise<boolean> {
    return conditionalWrite(this.table, new UpdateCommand({
      TableName: this.table.name, Key: eabKey(keyId), UpdateExpression: 'SET accountId = :a',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(accountId) OR accountId = :a)', ExpressionAttributeValues: { ':a': accountId },
    }));
  }
}
