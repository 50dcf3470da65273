/** Objects of certops' ACME server (RFC 8555 7.1), as it keeps them. */

/** A problem document (RFC 8555 6.7, RFC 7807). */
export interface AcmeProblemDocument {
  type: string;
  detail: string;
  status?: number;
}

/** An account (RFC 8555 7.1.2): its key as a public JWK (RFC 7517) and that key's RFC 7638 thumbprint. */
export interface AcmeAccount {
  accountId: string;
  profile: string;
  jwk: Record<string, string>;
  thumbprint: string;
  status: 'valid' | 'deactivated';
  contact: string[];
  createdAt: string;
  /** The certops principal whose External Account Binding made it, if one did. */
  boundTo?: { tokenId: string; name: string };
}

export type AcmeChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface AcmeChallenge {
  type: AcmeChallengeType;
  /** base64url, 128 random bits or more (RFC 8555 8.1). */
  token: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  validated?: string;
  error?: AcmeProblemDocument;
}

export interface AcmeIdentifier {
  type: 'dns';
  value: string;
}

/** An authorization (RFC 8555 7.1.4): one identifier of one order, proven by one of its challenges. */
export interface AcmeAuthorization {
  authzId: string;
  accountId: string;
  profile: string;
  identifier: AcmeIdentifier;
  wildcard?: boolean;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated';
  expires: string;
  challenges: AcmeChallenge[];
}

/** An order (RFC 8555 7.1.3). Its certificate is certops' request `requestId`, made at finalization. */
export interface AcmeOrder {
  orderId: string;
  accountId: string;
  profile: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  identifiers: AcmeIdentifier[];
  authorizations: string[];
  expires: string;
  createdAt: string;
  /** The CSR finalization took, PEM: a poll asks for the certificate again with it (idempotently). */
  csrPem?: string;
  requestId?: string;
  certificateId?: string;
  error?: AcmeProblemDocument;
  /** The ARI identifier of the certificate this order replaces (RFC 9773 5). */
  replaces?: string;
}

/** An External Account Binding key (RFC 8555 7.3.4) minted for a certops principal; the HMAC key itself is in the vault. */
export interface AcmeExternalAccountKey {
  keyId: string;
  tokenId: string;
  name: string;
  createdAt: string;
  /** The account it bound: each key binds one. */
  accountId?: string;
}

export interface AcmeServerStore {
  /** Records a fresh nonce (RFC 8555 6.5), good until `until`. */
  putNonce(nonce: string, until: Date): Promise<void>;
  /** Uses a nonce up: true once for a nonce that was issued and is still good, false ever after. */
  consumeNonce(nonce: string, now: Date): Promise<boolean>;
  /** The account holding the key of this thumbprint, if any. */
  accountByThumbprint(thumbprint: string): Promise<AcmeAccount | undefined>;
  account(accountId: string): Promise<AcmeAccount | undefined>;
  /** Creates the account unless its key already has one: the account that key holds, either way. */
  createAccount(account: AcmeAccount): Promise<AcmeAccount>;
  updateAccount(accountId: string, fields: Partial<Pick<AcmeAccount, 'contact' | 'status'>>): Promise<void>;
  /**
   * Moves an account to a new key (RFC 8555 7.3.5) while it still holds `from`: the account that
   * already holds the new key if another does, or this account's own id when a concurrent change
   * moved it first (nothing changed either way); undefined once moved.
   */
  changeKey(accountId: string, from: string, to: { jwk: Record<string, string>; thumbprint: string }): Promise<string | undefined>;
  /** Records an order and its authorizations (authorizations first: an order never names a missing one). */
  createOrder(order: AcmeOrder, authorizations: AcmeAuthorization[]): Promise<void>;
  order(orderId: string): Promise<AcmeOrder | undefined>;
  /** An account's orders, newest first, `limit` at most, resumable with nextToken. */
  accountOrders(accountId: string, limit: number, nextToken?: string): Promise<{ orderIds: string[]; nextToken?: string }>;
  /** Sets fields while the order's status is still `from`: false (nothing changed) when it is not. */
  transitionOrder(orderId: string, from: AcmeOrder['status'], fields: Partial<AcmeOrder>): Promise<boolean>;
  authorization(authzId: string): Promise<AcmeAuthorization | undefined>;
  authorizations(authzIds: string[]): Promise<(AcmeAuthorization | undefined)[]>;
  /** Takes a pending authorization for one validation until `until`: false while another validation holds it (or it is not pending). */
  claimValidation(authzId: string, until: Date, now: Date): Promise<boolean>;
  /** Sets fields while the authorization's status is still `from`: false when it is not. */
  transitionAuthorization(authzId: string, from: AcmeAuthorization['status'], fields: Partial<AcmeAuthorization>): Promise<boolean>;
  /** Remembers which order's certificate an ARI identifier (RFC 9773 4.1) names. */
  putRenewalPointer(ariCertId: string, orderId: string): Promise<void>;
  orderByAriCertId(ariCertId: string): Promise<string | undefined>;
  putExternalAccountKey(key: AcmeExternalAccountKey): Promise<void>;
  externalAccountKey(keyId: string): Promise<AcmeExternalAccountKey | undefined>;
  /** Marks the key as having bound `accountId`: false when it already bound another. */
  bindExternalAccountKey(keyId: string, accountId: string): Promise<boolean>;
}

/** A challenge that did not prove control of its name, with the RFC 8555 6.7 error type that says why. */
export class ChallengeFailure extends Error {
  constructor(readonly problemType: 'connection' | 'dns' | 'incorrectResponse' | 'tls', message: string) {
    super(message);
  }
}

/** Checks a challenge's response where the name points (RFC 8555 8.3, 8.4; RFC 8737): resolves, or throws ChallengeFailure. */
export interface ChallengeValidator {
  validate(type: AcmeChallengeType, name: string, token: string, keyAuthorization: string): Promise<void>;
}
