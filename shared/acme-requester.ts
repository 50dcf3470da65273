/**
 * The requester certops records for what an ACME account orders from its ACME server (RFC 8555
 * 7.1.2: the account is who asks). Token names hold no colon, so no person's name looks like one.
 */
export const acmeRequester = (accountId: string) => `acme:${accountId}`;

/**
 * Whether an ACME client ordered the certificate and holds its key: it renews it itself (through
 * certops' ACME server). A successor certops made in a renewal of one holds certops' key: certops renews it.
 */
export const orderedByAcmeClient = (c: { requestedBy?: string; keyRef?: string; renewalOf?: string }) => Boolean(c.requestedBy?.startsWith('acme:')) && !c.keyRef && !c.renewalOf;
