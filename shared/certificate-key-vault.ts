import { createHash } from 'node:crypto';
import { ForbiddenError } from './errors.ts';
import type { KeyVault } from './ports.ts';

/** Where the vault keeps the private key of certificate `id`: deployments read this entry and no other. */
export const certificateKeyRef = (id: string) => `cert/${id}`;

/** Where a generated key waits while its request is being signed (so a retry after a crash signs the same key). */
export const requestKeyRef = (requestId: string) => `request/${requestId}`;

/** Where a renewal's new key waits while the CA signs it: a saga resumed after a crash signs the same key. */
export const renewalKeyRef = (executionName: string) => requestKeyRef(`renew-${createHash('sha256').update(executionName).digest('hex').slice(0, 40)}`);

const CERTIFICATE_KEY = /^(cert\/[0-9a-f]{32}|request\/[0-9A-Za-z-]{1,64})$/;

/** The vault seen through a window: only references matching `allowed` (`what` says what they are); any other is a ForbiddenError. */
function refsOnly(vault: KeyVault, allowed: RegExp, what: string): KeyVault {
  const check = (ref: string) => {
    if (!allowed.test(ref)) throw new ForbiddenError(`the key reference ${JSON.stringify(ref.slice(0, 80))} is not ${what}`, 'keyRef');
  };
  return {
    put: async (ref, pem) => {
      check(ref);
      await vault.put(ref, pem);
    },
    get: async (ref) => {
      check(ref);
      return vault.get(ref);
    },
    remove: async (ref) => {
      check(ref);
      await vault.remove(ref);
    },
  };
}

/**
 * The vault as everything but the CA sees it: the keys of certificates (`cert/<id>`) and of requests
 * being signed (`request/<id>`) only. A CA key (`ca/...`) cannot be read or replaced through it,
 * whatever reference a record or a caller names: ForbiddenError.
 */
export const certificateKeysOnly = (vault: KeyVault): KeyVault => refsOnly(vault, CERTIFICATE_KEY, 'a certificate\'s key');

/** Where the ACME server keeps an External Account Binding's HMAC key (RFC 8555 7.3.4). */
export const eabKeyRef = (keyId: string) => `acme-eab/${keyId}`;

/** The vault as the ACME server's accounts see it: External Account Binding keys only. */
export const eabKeysOnly = (vault: KeyVault): KeyVault => refsOnly(vault, /^acme-eab\/[0-9a-f]{32}$/, 'an External Account Binding key');
