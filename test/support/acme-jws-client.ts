import { generateKeyPair, exportJWK, FlattenedSign, calculateJwkThumbprint, type JWK, type CryptoKey } from 'jose';

/** An answer of the ACME server as a client sees it. */
export interface AcmeResponse {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * A minimal ACME client for protocol tests (RFC 8555 6.2): it signs exactly what it is told, so
 * tests can send what a well-behaved client never would (a used nonce, a wrong URL, another kid).
 */
export class RawAcmeClient {
  kid?: string;
  private nonce?: string;

  private constructor(readonly directory: Record<string, string>, readonly key: { privateKey: CryptoKey; jwk: JWK }) {}

  static async open(directoryUrl: string): Promise<RawAcmeClient> {
    const directory = await (await fetch(directoryUrl)).json();
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return new RawAcmeClient(directory, { privateKey, jwk: await exportJWK(publicKey) });
  }

  async thumbprint(): Promise<string> {
    return calculateJwkThumbprint(this.key.jwk, 'sha256');
  }

  async freshNonce(): Promise<string> {
    const res = await fetch(this.directory.newNonce, { method: 'HEAD' });
    return res.headers.get('replay-nonce')!;
  }

  /** A JWS for `url` (header overrides in `header`); payload undefined: POST-as-GET. */
  async jws(url: string, payload: unknown, header: Record<string, unknown> = {}, key = this.key): Promise<Record<string, string>> {
    const nonce = this.nonce ?? (await this.freshNonce());
    this.nonce = undefined;
    const protectedHeader = { alg: 'ES256', nonce, url, ...(this.kid && key === this.key ? { kid: this.kid } : { jwk: key.jwk }), ...header };
    const bytes = new TextEncoder().encode(payload === undefined ? '' : JSON.stringify(payload));
    return (await new FlattenedSign(bytes).setProtectedHeader(protectedHeader as never).sign(key.privateKey)) as unknown as Record<string, string>;
  }

  async send(url: string, body: unknown, contentType = 'application/jose+json'): Promise<AcmeResponse> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify(body) });
    this.nonce = res.headers.get('replay-nonce') ?? undefined;
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  async post(url: string, payload: unknown, header: Record<string, unknown> = {}): Promise<AcmeResponse> {
    return this.send(url, await this.jws(url, payload, header));
  }

  /** An External Account Binding (RFC 8555 7.3.4): this account's key, MACed with the binding's key for newAccount. */
  async binding(keyId: string, hmacKey: string): Promise<Record<string, string>> {
    const jwk = new TextEncoder().encode(JSON.stringify(this.key.jwk));
    return (await new FlattenedSign(jwk).setProtectedHeader({ alg: 'HS256', kid: keyId, url: this.directory.newAccount }).sign(Buffer.from(hmacKey, 'base64url'))) as unknown as Record<string, string>;
  }

  async register(extra: Record<string, unknown> = {}): Promise<AcmeResponse> {
    const res = await this.post(this.directory.newAccount, { termsOfServiceAgreed: true, contact: ['mailto:ops@example.test'], ...extra });
    if (res.status === 201 || res.status === 200) this.kid = res.headers.get('location')!;
    return res;
  }

  static async newKey(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    return { privateKey, jwk: await exportJWK(publicKey) };
  }
}
