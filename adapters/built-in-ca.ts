import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { caExtensions, certificateTbs, assembleCertificate, leafTbs, nameDer, keyIdentifier } from '../shared/x509/certificate-builder.ts';
import { crlTbs, type RevocationReason } from '../shared/x509/crl-builder.ts';
import { generateKeyPair, privateKeyPem, signAsync, signingAlgorithm, spkiOf } from '../shared/x509/keys.ts';
import { parseCertificate, type ParsedCertificate } from '../shared/x509/parse-certificate.ts';
import { certificateBlocks, toPem } from '../shared/x509/pem.ts';
import type { AuthorityRecord, AuthorityStore, CertificateAuthority, Clock, IssuanceJournal, KeyVault, RevocationStore, SignInput } from '../shared/ports.ts';

const DAY = 86_400_000;
const CA_KEY = 'EC_P256';
const { hash: HASH, algorithmDer: SIGNATURE_ALGORITHM } = signingAlgorithm(CA_KEY);
/** How long a CRL is good for: relying parties fetch a new one by then. */
const CRL_LIFETIME_MS = 7 * DAY;

/** 128 random bits with the top bit clear, so the DER INTEGER stays positive and 16 bytes. */
function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes;
}

async function sign(tbs: Buffer, key: KeyObject): Promise<Buffer> {
  return assembleCertificate(tbs, SIGNATURE_ALGORITHM, await signAsync(HASH, tbs, key));
}

/** What the built-in CA needs: where it is kept, its keys' vault, and what its certificates point at. */
export interface BuiltInCaDeps {
  authorities: AuthorityStore;
  vault: KeyVault;
  /** The suite's public URL: issued certificates' CRL and CA issuers URLs are under it. */
  baseUrl: string;
  clock: Clock;
  revocations: RevocationStore;
  journal: IssuanceJournal;
}

/**
 * The default CA of both runtimes: a root and an intermediate (ECDSA P-256), their certificates in
 * the table (AuthorityStore), their keys sealed in the vault. It is created once: every process
 * and Lambda execution environment that opens it signs with the same intermediate. Leaves are
 * encoded and signed directly (no ASN.1 library on the hot path) and point their CRL and AIA URLs
 * at the suite's API.
 */
export class BuiltInCa implements CertificateAuthority {
  readonly name = 'local';
  private readonly chain: string;

  private constructor(
    root: ParsedCertificate,
    private readonly intermediate: ParsedCertificate,
    private readonly signingKey: KeyObject,
    private readonly baseUrl: string,
    private readonly clock: Clock,
    private readonly revocations: RevocationStore,
    private readonly journal: IssuanceJournal,
  ) {
    this.chain = toPem(intermediate.der) + toPem(root.der);
  }

  /**
   * Opens the stored CA, creating it on first use. Two first opens at once both mint a CA, but
   * only one is recorded (put-if-absent): the other drops its keys and opens the recorded one.
   */
  static async open(deps: BuiltInCaDeps): Promise<BuiltInCa> {
    let record = await deps.authorities.get('local');
    if (!record) {
      const minted = await BuiltInCa.mint(deps.vault, deps.clock);
      if (await deps.authorities.create(minted)) record = minted;
      else {
        await Promise.all([deps.vault.remove(minted.rootKeyRef), deps.vault.remove(minted.intermediateKeyRef)]);
        record = (await deps.authorities.get('local'))!;
      }
    }
    const [root, intermediate] = [record.rootPem, record.intermediatePem].map((p) => parseCertificate(certificateBlocks(p, 'ca')[0], 'ca'));
    const key = createPrivateKey(await deps.vault.get(record.intermediateKeyRef));
    return new BuiltInCa(root, intermediate, key, deps.baseUrl, deps.clock, deps.revocations, deps.journal);
  }

  /** A new root and intermediate, their keys in the vault under references of their own (so a CA minted in vain removes only its own). */
  private static async mint(vault: KeyVault, clock: Clock): Promise<AuthorityRecord> {
    const now = clock.now().getTime();
    const rootKeys = await generateKeyPair(CA_KEY);
    const intKeys = await generateKeyPair(CA_KEY);
    const rootName = nameDer([['CN', 'certops local root CA'], ['O', 'certops']]);
    const intName = nameDer([['CN', 'certops local intermediate CA'], ['O', 'certops']]);
    const rootSpki = spkiOf(rootKeys.publicKey);
    const intSpki = spkiOf(intKeys.publicKey);
    const rootSerial = randomSerial();
    const root = await sign(certificateTbs({
      serial: rootSerial, signatureAlgorithmDer: SIGNATURE_ALGORITHM, issuerDer: rootName, subjectDer: rootName, spkiDer: rootSpki,
      notBefore: new Date(now - DAY), notAfter: new Date(now + 3650 * DAY), extensions: caExtensions(rootSpki, undefined),
    }), rootKeys.privateKey);
    const intermediate = await sign(certificateTbs({
      serial: randomSerial(), signatureAlgorithmDer: SIGNATURE_ALGORITHM, issuerDer: rootName, subjectDer: intName, spkiDer: intSpki,
      notBefore: new Date(now - DAY), notAfter: new Date(now + 1825 * DAY), extensions: caExtensions(intSpki, keyIdentifier(rootSpki), 0),
    }), rootKeys.privateKey);
    const refBase = `ca/local-${rootSerial.toString('hex')}`;
    const record: AuthorityRecord = {
      name: 'local', rootPem: toPem(root), intermediatePem: toPem(intermediate),
      rootKeyRef: `${refBase}/root`, intermediateKeyRef: `${refBase}/intermediate`, createdAt: new Date(now).toISOString(),
    };
    await vault.put(record.rootKeyRef, privateKeyPem(rootKeys.privateKey));
    await vault.put(record.intermediateKeyRef, privateKeyPem(intKeys.privateKey));
    return record;
  }

  async signedFor(idempotencyKey: string): Promise<boolean> {
    return Boolean(await this.journal.recall(this.name, idempotencyKey));
  }

  /**
   * Signs a leaf. With an idempotency key, what it signed for that key is journaled before it is
   * returned, and the same key later gets that certificate again: the journal keeps the first
   * certificate written for a key, so a retry's own signature is dropped unseen (a signature that
   * never left this process was never seen by anyone; one that did is known by its key). Signing
   * first spares every fresh request a read of the journal; only retries sign in vain.
   */
  async issue(input: SignInput): Promise<{ certificatePem: string; chainPem: string }> {
    const certificatePem = await this.sign(input);
    return { certificatePem: input.idempotencyKey ? await this.journal.record(this.name, input.idempotencyKey, certificatePem) : certificatePem, chainPem: this.chain };
  }

  private async sign(input: SignInput): Promise<string> {
    const now = this.clock.now().getTime();
    const tbs = leafTbs({
      serial: randomSerial(),
      issuerDer: this.intermediate.subjectDer,
      issuerKeyId: keyIdentifier(this.intermediate.spkiDer),
      signatureAlgorithmDer: SIGNATURE_ALGORITHM,
      // A minute of slack for clients whose clocks run a little behind.
      notBefore: new Date(now - 60_000),
      // Never past the intermediate's own end (RFC 5280 path validation would refuse the rest).
      notAfter: new Date(Math.min(now + input.validityDays * DAY, this.intermediate.notAfter.getTime())),
      commonName: input.commonName,
      names: input.subjectAlternativeNames,
      spkiDer: input.spkiDer,
      keyType: input.keyType,
      profile: input.profile,
      crlUrl: `${this.baseUrl}/crl/local.crl`,
      // RFC 5280 4.2.2.1: the issuing CA's certificate in DER (application/pkix-cert), what AIA clients fetch.
      caIssuersUrl: `${this.baseUrl}/ca/local.crt`,
    });
    return toPem(await sign(tbs, this.signingKey));
  }

  async chainPem(): Promise<string> {
    return this.chain;
  }

  /** Records the revocation; the next CRL lists it. Revoking twice keeps the first record. */
  async revoke(serialNumber: string, reason: RevocationReason, at?: Date): Promise<void> {
    await this.revocations.add(this.name, { serialNumber, reason, revokedAt: at ?? this.clock.now() });
  }

  /** A CRL signed now by the intermediate, listing every certificate it revoked, valid for a week. */
  async crlDer(): Promise<Buffer> {
    const now = this.clock.now();
    const tbs = crlTbs({
      issuerDer: this.intermediate.subjectDer,
      issuerKeyId: keyIdentifier(this.intermediate.spkiDer),
      signatureAlgorithmDer: SIGNATURE_ALGORITHM,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_LIFETIME_MS),
      // Seconds since the epoch: increases with every CRL issued, as RFC 5280 asks of CRL numbers.
      crlNumber: Math.floor(now.getTime() / 1000),
      entries: await this.revocations.list(this.name),
    });
    return assembleCertificate(tbs, SIGNATURE_ALGORITHM, await signAsync(HASH, tbs, this.signingKey));
  }
}
