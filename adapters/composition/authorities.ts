import { canonicalJson } from '../../shared/canonical-json.ts';
import { ConflictError, ValidationError } from '../../shared/errors.ts';
import { policyGated } from '../../shared/policy-gated-authority.ts';
import type { CertificateAuthority, DnsTxtRecords, WebrootAnswers } from '../../shared/ports.ts';
import type { AcmeIssuerConfig } from '../suite-config.ts';
import { DynamoRequestStore } from '../dynamodb/request-store.ts';
import { DynamoRevocationStore } from '../dynamodb/revocation-store.ts';
import { DynamoIssuanceJournal } from '../dynamodb/issuance-journal.ts';
import { DynamoAuthorityStore } from '../dynamodb/authority-store.ts';
import { recordingCalls } from '../aws/call-recorder.ts';
import { allowedRoots, type Base } from './base.ts';
import { keyVaults } from './key-vaults.ts';

/**
 * The CA backends: the built-in CA (its keys in the vault), and those configured under `issuers`
 * (AWS Private CA, ACM), each behind the policy gate. AWS backends are loaded when first named,
 * so a function whose configuration names none never loads their clients.
 */
export function authorities(b: Base) {
  const requests = new DynamoRequestStore(b.table);
  const revocations = new DynamoRevocationStore(b.table);
  const journal = new DynamoIssuanceJournal(b.table);
  const authorityStore = new DynamoAuthorityStore(b.table);
  const vaults = keyVaults(b);
  const gated = (backend: CertificateAuthority) => policyGated(backend, () => ({ policy: b.suite.policy, ownership: b.suite.ownership }), requests);
  let builtIn: Promise<CertificateAuthority> | undefined;
  const remotes = new Map<string, Promise<CertificateAuthority>>();

  async function remote(name: string, backend: Base['suite']['issuers'][string]): Promise<CertificateAuthority> {
    if (backend.type === 'acme') {
      // Nothing would answer the CA, and each failed validation counts against the account's limits.
      if (backend.challenge === 'tls-alpn-01' && !b.config.tlsAlpnResponder) throw new ConflictError(`issuer ${name} proves names with tls-alpn-01, and no validation responder runs here (the local stack's CERTOPS_ACME_TLS_ALPN_PORT; on AWS, use http-01 or dns-01)`, `issuers.${name}.challenge`);
      const [{ AcmeAuthority }, { DynamoAcmeChallengeAnswers }, { resolveSecret }] = await Promise.all([import('../acme/acme-authority.ts'), import('../dynamodb/acme-challenge-answers.ts'), import('../secrets.ts')]);
      const secret = (ref: string, field: string) => resolveSecret(ref, field, b.env(), async () => recordingCalls(new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}), 'secretsmanager'));
      const eab = backend.externalAccountBinding;
      const eabHmacKey = eab ? () => secret(eab.hmacKeyRef, `issuers.${name}.externalAccountBinding.hmacKey`) : undefined;
      const dnsRecords = backend.dns ? await dnsUpdates(name, backend.dns, secret) : undefined;
      const webroot = backend.webroot ? await webrootOf(name, backend.webroot) : undefined;
      return gated(new AcmeAuthority(name, backend, { clock: b.clock, waitMs: b.config.acmeOrderWaitMs, journal, vault: await vaults.whole(), answers: new DynamoAcmeChallengeAnswers(b.table), ...(backend.challenge === 'tls-alpn-01' ? { tlsAlpnAnswers: new DynamoAcmeChallengeAnswers(b.table, 'tls-alpn-01') } : {}), eabHmacKey, dnsRecords, webroot }));
    }
    if (backend.type === 'acm') {
      const [{ ACMClient }, { AcmPublicAuthority }] = await Promise.all([import('@aws-sdk/client-acm'), import('../aws/acm-public-authority.ts')]);
      return gated(new AcmPublicAuthority(name, recordingCalls(new ACMClient({ region: backend.region }), 'acm')));
    }
    const [{ ACMPCAClient }, { AcmPcaAuthority }] = await Promise.all([import('@aws-sdk/client-acm-pca'), import('../aws/acm-pca-authority.ts')]);
    return gated(new AcmPcaAuthority(name, recordingCalls(new ACMPCAClient({ region: backend.region }), 'acm-pca'), { certificateAuthorityArn: backend.certificateAuthorityArn!, signingAlgorithm: backend.signingAlgorithm as never, journal }));
  }

  /** Where an ACME issuer's dns-01 records go, its client loaded only when named. */
  async function dnsUpdates(name: string, dns: NonNullable<AcmeIssuerConfig['dns']>, secret: (ref: string, field: string) => Promise<string>): Promise<DnsTxtRecords> {
    if ('route53' in dns) {
      const [{ Route53Client }, { Route53TxtRecords }] = await Promise.all([import('@aws-sdk/client-route-53'), import('../dns/route53.ts')]);
      return new Route53TxtRecords(recordingCalls(new Route53Client({}), 'route53'), dns.route53.hostedZoneId);
    }
    const { Rfc2136TxtRecords } = await import('../dns/rfc2136.ts');
    const r = dns.rfc2136;
    return new Rfc2136TxtRecords(r, r.zone, async () => ({ name: r.keyName, algorithm: r.keyAlgorithm, secret: await secret(r.keySecretRef, `issuers.${name}.dns.rfc2136.keySecret`) }), () => b.clock.now());
  }

  /** An ACME issuer's webroot: the named filesystem target's directory as it is registered when an answer is written, inside the allowed roots. */
  async function webrootOf(issuer: string, targetName: string): Promise<WebrootAnswers> {
    const [{ WebrootChallengeAnswers }, { DynamoTargetStore }] = await Promise.all([import('../targets/webroot-answers.ts'), import('../dynamodb/target-store.ts')]);
    const targets = new DynamoTargetStore(b.table);
    return new WebrootChallengeAnswers(async () => {
      const target = await targets.get(targetName);
      if (target?.type !== 'filesystem' || typeof target.directory !== 'string') throw new ValidationError(`issuers.${issuer}.webroot names ${targetName}, which is not a registered filesystem target`, `issuers.${issuer}.webroot`);
      return target.directory;
    }, () => allowedRoots(b));
  }

  return {
    requests,
    revocations,
    journal,
    keyVault: vaults.keyVault,
    /** The CA backend named `name` (default the built-in one), behind the policy gate; ValidationError (field `issuer`) for a name the configuration does not give. */
    async authority(name = 'local'): Promise<CertificateAuthority> {
      if (name === 'local') {
        return (builtIn ??= vaults.whole().then(async (vault) => {
          const { BuiltInCa } = await import('../built-in-ca.ts');
          return gated(await BuiltInCa.open({ authorities: authorityStore, vault, baseUrl: b.config.baseUrl, clock: b.clock, revocations, journal }));
        }));
      }
      const { issuers } = b.suite;
      const backend = Object.hasOwn(issuers, name) ? issuers[name] : undefined;
      if (!backend) throw new ValidationError(`issuer ${JSON.stringify(name)} is not a configured CA backend (configured: ${['local', ...Object.keys(issuers)].join(', ')})`, 'issuer');
      // Keyed by what the configuration says of it: a backend changed by a configuration change is built anew.
      const cacheKey = canonicalJson({ name, backend });
      let built = remotes.get(cacheKey);
      if (!built) {
        built = remote(name, backend);
        remotes.set(cacheKey, built);
        built.catch(() => remotes.delete(cacheKey));
      }
      return built;
    },
  };
}
