import { randomBytes } from 'node:crypto';

/** Identifiers of accounts, orders and authorizations: 128 random bits, hex (they are URL path segments). */
export const newAcmeId = () => randomBytes(16).toString('hex');

/** A challenge token or nonce: 128 random bits, base64url (RFC 8555 8.1, 6.5). */
export const newToken = () => randomBytes(16).toString('base64url');
