import { webcrypto, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { x509 } from '../../shared/x509/crypto-provider.ts';
import { algorithmParams, generateKeyPair, privateKeyPem, sanEntry } from '../../shared/x509/keys.ts';
import type { CertificateAuthority, Clock, KeyVault, SignInput } from '../../shared/ports.ts';

const DAY = 86_400_000;
const SIGN = algorithmParams('EC_P256').sign;

/** 128 random bits with the top bit clear, so the DER INTEGER stays positive and 16 bytes. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return bytes.toString('hex');
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

/**
 * The local default CA: a root and an intermediate (ECDSA P-256), certificates under
 * `$CERTOPS_HOME/ca`, keys in the key vault. Leaves point their CRL and AIA URLs at the API.
 */
export class BuiltInCa implements CertificateAuthority {
  readonly name = 'local';

  private constructor(
    private readonly root: x509.X509Certificate,
    private readonly intermediate: x509.X509Certificate,
    private readonly signingKey: CryptoKey,
    private readonly baseUrl: string,
    private readonly clock: Clock,
  ) {}

  /** Loads the CA from `home`, creating root and intermediate on first use. */
  static async open(home: string, vault: KeyVault, baseUrl: string, clock: Clock): Promise<BuiltInCa> {
    const dir = join(home, 'ca');
    await mkdir(dir, { recursive: true });
    try {
      const [root, intermediate] = await Promise.all(['root.pem', 'intermediate.pem'].map((f) => readFile(join(dir, f), 'utf8')));
      const key = await importSigningKey(await vault.get('ca/intermediate'));
      return new BuiltInCa(new x509.X509Certificate(root), new x509.X509Certificate(intermediate), key, baseUrl, clock);
    } catch {
      return BuiltInCa.create(dir, vault, baseUrl, clock);
    }
  }

  private static async create(dir: string, vault: KeyVault, baseUrl: string, clock: Clock): Promise<BuiltInCa> {
    const now = clock.now();
    const rootKeys = await generateKeyPair('EC_P256');
    const intKeys = await generateKeyPair('EC_P256');
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=certops local root CA, O=certops',
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 3650 * DAY),
      keys: rootKeys,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: 'CN=certops local intermediate CA, O=certops',
      issuer: root.subject,
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 1825 * DAY),
      publicKey: intKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(intKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    await vault.put('ca/root', await privateKeyPem(rootKeys.privateKey));
    await vault.put('ca/intermediate', await privateKeyPem(intKeys.privateKey));
    await writeFile(join(dir, 'root.pem'), root.toString('pem') + '\n');
    await writeFile(join(dir, 'intermediate.pem'), intermediate.toString('pem') + '\n');
    return new BuiltInCa(root, intermediate, intKeys.privateKey, baseUrl, clock);
  }

  async issue(input: SignInput): Promise<{ certificatePem: string; chainPem: string }> {
    const csr = new x509.Pkcs10CertificateRequest(input.csrPem);
    const now = this.clock.now();
    const rsa = csr.publicKey.algorithm.name.startsWith('RSA');
    const usage = x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0);
    const eku = input.profile === 'tls-client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${input.commonName}`,
      issuer: this.intermediate.subject,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + input.validityDays * DAY),
      publicKey: csr.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(usage, true),
        new x509.ExtendedKeyUsageExtension([eku]),
        new x509.SubjectAlternativeNameExtension(input.subjectAlternativeNames.map(sanEntry)),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.intermediate.publicKey),
        new x509.CRLDistributionPointsExtension([`${this.baseUrl}/crl/local.crl`]),
        new x509.AuthorityInfoAccessExtension({ caIssuers: `${this.baseUrl}/ca/chain` }),
      ],
    });
    return { certificatePem: cert.toString('pem') + '\n', chainPem: await this.chainPem() };
  }

  async chainPem(): Promise<string> {
    return `${this.intermediate.toString('pem')}\n${this.root.toString('pem')}\n`;
  }
}
