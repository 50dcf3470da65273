/** The URLs of one ACME directory (RFC 8555 7.1.1) under certops' base URL: `/acme/{profile}/...`. */
export function acmeUrls(baseUrl: string, profile: string) {
  const root = `${baseUrl}/acme/${profile}`;
  return {
    root,
    directory: `${root}/directory`,
    newNonce: `${root}/new-nonce`,
    newAccount: `${root}/new-account`,
    newOrder: `${root}/new-order`,
    revokeCert: `${root}/revoke-cert`,
    keyChange: `${root}/key-change`,
    renewalInfo: `${root}/renewal-info`,
    account: (id: string) => `${root}/account/${id}`,
    accountOrders: (id: string, cursor?: string) => `${root}/account/${id}/orders${cursor ? `?cursor=${cursor}` : ''}`,
    order: (id: string) => `${root}/order/${id}`,
    finalize: (id: string) => `${root}/order/${id}/finalize`,
    authz: (id: string) => `${root}/authz/${id}`,
    challenge: (authzId: string, type: string) => `${root}/challenge/${authzId}/${type}`,
    certificate: (orderId: string) => `${root}/cert/${orderId}`,
    /** The account id a kid names, if it is an account URL of this directory. */
    accountIdOf: (kid: string) => (kid.startsWith(`${root}/account/`) && /^[0-9a-f]{32}$/.test(kid.slice(root.length + 9)) ? kid.slice(root.length + 9) : undefined),
  };
}

export type AcmeUrls = ReturnType<typeof acmeUrls>;
