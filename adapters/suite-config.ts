import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ValidationError } from '../shared/errors.ts';
import { certificateBlocks } from '../shared/x509/pem.ts';
import { parseCertificate } from '../shared/x509/parse-certificate.ts';
import { parseOwnershipRules, type OwnershipRule } from '../shared/ownership.ts';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../shared/policy.ts';
import type { DeploymentRule } from '../shared/deployment-rules.ts';
import { SECRET_REF, parseSinks, type SinkConfig } from '../shared/siem-config.ts';
import { parseNotifications, type NotificationConfig } from '../shared/notification-config.ts';
import { awsRegion } from '../shared/aws-region.ts';
import { DEFAULT_SCAN_LIMITS, parseScanLimits, type ScanLimits } from '../shared/scan-limits.ts';
import { NO_ACME_SERVER, parseAcmeServerConfig, type AcmeServerConfig } from '../shared/acme-server-config.ts';

/** The suite's own configuration file (YAML or JSON): what to scan, who owns what. */
export interface SuiteConfig {
  ownership: OwnershipRule[];
  /** Targets the scheduled scan covers (hosts, host:port, addresses, CIDR ranges), and its ports. */
  scanTargets: string[];
  scanPorts: number[];
  /** What callers below admin may scan. */
  scanLimits: ScanLimits;
  /** AWS Certificate Manager regions the scheduled ACM sync reads. */
  acmRegions: string[];
  /** Extra trust anchors for scans (an organisation's internal roots), PEM. */
  trustedRootsPem: string;
  policy: Policy;
  /** CA backends besides the built-in one, by the name requests use in `issuer`. */
  issuers: Record<string, IssuerConfig>;
  /** Certificates for names under `domain` (and/or of `environment`) are deployed to these targets. */
  deploymentRules: DeploymentRule[];
  /** Where filesystem targets may write (absolute folders); unset: the targets folder of the suite's home. */
  deploymentRoots?: string[];
  /** SIEM destinations; without configuration, one NDJSON file in the seed format. */
  siemSinks: SinkConfig[];
  /** Who is told what, and how (email, chat, paging, webhooks). */
  notifications: NotificationConfig;
  /** For CT: the issuers expected for each watched domain (`.example.com: [DN, ...]`). */
  ctAllowedIssuers: Record<string, string[]>;
  /** For CT: get-entries calls in flight per log, and requests per second per log (unlimited if unset). */
  ctFetch: { concurrency: number; requestsPerSecond?: number };
  /** API tokens' lifetime in days: when a request names none, and at most. */
  tokenLifetime: { defaultDays: number; maxDays: number };
  /** certops' own ACME server: its directories (profiles) and how it validates challenges. */
  acmeServer: AcmeServerConfig;
  /** The document as written (an empty mapping without a file): what config.changed compares. */
  document: Record<string, unknown>;
}


/** A CA backend besides the built-in one: on AWS (Private CA, ACM), or any ACME CA. */
export type IssuerConfig = AwsIssuerConfig | AcmeIssuerConfig;

export interface AwsIssuerConfig {
  type: 'acm-pca' | 'acm';
  /** For acm-pca. */
  certificateAuthorityArn?: string;
  region: string;
  signingAlgorithm?: string;
}

/** An ACME CA (RFC 8555): its directory, the account's contacts, and the challenge certops answers. */
export interface AcmeIssuerConfig {
  type: 'acme';
  /** The CA's directory URL (RFC 8555 7.1.1), https. */
  directoryUrl: string;
  /** The account's contact URLs (RFC 8555 7.3: mailto:), none by default. */
  contact: string[];
  /** Whether the operator agreed to the CA's terms of service (RFC 8555 7.3: termsOfServiceAgreed); CAs with terms refuse an account without it. */
  termsOfServiceAgreed: boolean;
  /**
   * http-01: certops' own server answers the challenge (RFC 8555 8.3); dns-01: a TXT record in `dns`
   * (RFC 8555 8.4); tls-alpn-01: certops' validation responder (RFC 8737; the local stack's
   * CERTOPS_ACME_TLS_ALPN_PORT, where the CA connects for port 443 of the name).
   */
  challenge: 'http-01' | 'dns-01' | 'tls-alpn-01';
  /**
   * dns-01: where the TXT records go: by RFC 2136 dynamic update signed with a TSIG key (RFC 8945)
   * whose secret is named (env:NAME or secretsmanager:ID), or into a Route 53 hosted zone.
   */
  dns?: { rfc2136: { host: string; port: number; zone: string; keyName: string; keyAlgorithm: 'hmac-sha256' | 'hmac-sha512'; keySecretRef: string } } | { route53: { hostedZoneId: string } };
  /** PEM roots trusted for the directory's TLS besides the system's (a private ACME server). */
  caBundlePem?: string;
  /** http-01 written into this filesystem target's directory (a web server's webroot) instead of answered by certops' own server. */
  webroot?: string;
  /** External Account Binding (RFC 8555 7.3.4): the CA's key id, and where its HMAC key (base64url) is: env:NAME or secretsmanager:ID. */
  externalAccountBinding?: { kid: string; hmacKeyRef: string };
  /** The certificate profile every order asks for, one the CA's directory lists in meta.profiles (draft-aaron-acme-profiles); the CA's default without it. */
  profile?: string;
}

export const emptyConfig = (siemFile: string): SuiteConfig => ({ ownership: [], scanTargets: [], scanPorts: [443], scanLimits: DEFAULT_SCAN_LIMITS, acmRegions: [], trustedRootsPem: '', policy: DEFAULT_POLICY, issuers: {}, deploymentRules: [], siemSinks: parseSinks(undefined, () => '', siemFile), notifications: { channels: [], routes: [] }, ctAllowedIssuers: {}, ctFetch: { concurrency: 4 }, tokenLifetime: DEFAULT_TOKEN_LIFETIME, acmeServer: NO_ACME_SERVER, document: {} });

const DEFAULT_TOKEN_LIFETIME = { defaultDays: 90, maxDays: 365 };

function parseTokenLifetime(value: unknown, at: (field: string) => string): SuiteConfig['tokenLifetime'] {
  if (value === undefined) return DEFAULT_TOKEN_LIFETIME;
  const t = (value ?? {}) as Record<string, unknown>;
  const days = (field: 'defaultDays' | 'maxDays') => {
    const v = t[field] ?? DEFAULT_TOKEN_LIFETIME[field];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 3650) throw new ValidationError(`${at(`tokens.${field}`)}: tokens.${field} must be a whole number of days from 1 to 3650`, `tokens.${field}`);
    return v as number;
  };
  const lifetime = { defaultDays: days('defaultDays'), maxDays: days('maxDays') };
  if (lifetime.defaultDays > lifetime.maxDays) throw new ValidationError(`${at('tokens.defaultDays')}: tokens.defaultDays is over tokens.maxDays`, 'tokens.defaultDays');
  return lifetime;
}

function readRoots(file: unknown, base: string): string {
  if (file === undefined) return '';
  if (typeof file !== 'string') throw new ValidationError('inventory.trustedRootsFile must be a path', 'inventory.trustedRootsFile');
  try {
    return readFileSync(resolve(base, file), 'utf8');
  } catch (err) {
    throw new ValidationError(`inventory.trustedRootsFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`, 'inventory.trustedRootsFile');
  }
}

/** The configuration's sections: anything else is a mistake (a misspelt `policy` would otherwise change nothing, silently). */
const SECTIONS = ['inventory', 'policy', 'issuers', 'deployment', 'siem', 'notifications', 'ct', 'tokens', 'acmeServer'];
/** Bounds on a configuration document: one item in the table holds it with its diff (DynamoDB's item limit is 400 KB). */
const MAX_CONFIG_BYTES = 64 * 1024;
const MAX_CONFIG_DEPTH = 16;

function checkBounds(root: Record<string, unknown>, at: (field: string) => string): void {
  // Depth first, without recursion: a document nested thousands deep must not exhaust the stack.
  for (let level: unknown[] = [root], depth = 0; level.length; depth++) {
    if (depth > MAX_CONFIG_DEPTH) throw new ValidationError(`${at('configuration')}: the configuration is nested deeper than ${MAX_CONFIG_DEPTH} levels`, 'configuration');
    level = level.flatMap((v) => (v && typeof v === 'object' ? Object.values(v) : []));
  }
  if (Buffer.byteLength(JSON.stringify(root)) > MAX_CONFIG_BYTES) throw new ValidationError(`${at('configuration')}: the configuration is over ${MAX_CONFIG_BYTES / 1024} KiB`, 'configuration');
}

/** `inventory.trustedRootsPem`: roots written into the configuration itself (what functions on AWS, which have no files, can read). */
function inlineRoots(value: unknown, at: (field: string) => string): string {
  if (value === undefined) return '';
  const field = 'inventory.trustedRootsPem';
  if (typeof value !== 'string') throw new ValidationError(`${at(field)}: ${field} must hold PEM certificates`, field);
  // Each one must read as a certificate now, not fail every scan later.
  wrapAt(at, field, () => certificateBlocks(value, field).forEach((der) => parseCertificate(der, field)));
  return value.endsWith('\n') ? value : `${value}\n`;
}

/**
 * The fields of a configuration document that name files on the machine that reads it: none of
 * them is there for functions on AWS (bootstrap refuses them; `inventory.trustedRootsPem` holds roots inline).
 */
export function localFilesNamed(document: Record<string, unknown>): string[] {
  const inventory = (document.inventory ?? {}) as Record<string, unknown>;
  const sinks = ((document.siem as Record<string, unknown> | undefined)?.sinks ?? []) as Record<string, unknown>[];
  return [
    ...(inventory.trustedRootsFile === undefined ? [] : ['inventory.trustedRootsFile']),
    ...(Array.isArray(sinks) ? sinks : []).flatMap((sink, i) => ['caFile', 'clientCertFile', 'path'].filter((f) => sink?.[f] !== undefined).map((f) => `siem.sinks.${i}.${f}`)),
  ];
}

/** Runs `read`, prefixing a ValidationError's message with where `field` is in the file. */
function wrapAt<T>(at: (field: string) => string, field: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`${at(field)}: ${err.message}`, err.field);
    throw err;
  }
}

function parseIssuers(value: unknown, at: (field: string) => string): Record<string, IssuerConfig> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${at('issuers')}: issuers must be a mapping of names to backends`, 'issuers');
  return Object.fromEntries(Object.entries(value as Record<string, Record<string, unknown>>).map(([name, b]) => {
    const field = `issuers.${name}`;
    if (name === 'local') throw new ValidationError(`${at(field)}: local is the built-in CA's name`, field);
    if (b?.type === 'acme') return [name, parseAcmeIssuer(b, field, at)];
    if (!b || (b.type !== 'acm-pca' && b.type !== 'acm')) throw new ValidationError(`${at(field)}: ${field}.type must be acm-pca, acm or acme`, `${field}.type`);
    if (b.type === 'acm-pca' && (typeof b.certificateAuthorityArn !== 'string' || !b.certificateAuthorityArn.startsWith('arn:'))) throw new ValidationError(`${at(field)}: ${field}.certificateAuthorityArn must be an ARN`, `${field}.certificateAuthorityArn`);
    if (typeof b.region !== 'string') throw new ValidationError(`${at(field)}: ${field}.region is required`, `${field}.region`);
    wrapAt(at, `${field}.region`, () => awsRegion(b.region as string, `${field}.region`));
    return [name, { type: b.type, certificateAuthorityArn: b.certificateAuthorityArn as string | undefined, region: b.region, signingAlgorithm: typeof b.signingAlgorithm === 'string' ? b.signingAlgorithm : undefined }];
  }));
}

const ACME_FIELDS = new Set(['type', 'directoryUrl', 'contact', 'termsOfServiceAgreed', 'challenge', 'dns', 'webroot', 'caBundle', 'externalAccountBinding', 'profile']);

function parseAcmeIssuer(b: Record<string, unknown>, field: string, at: (field: string) => string): AcmeIssuerConfig {
  const fail = (name: string, message: string) => new ValidationError(`${at(`${field}.${name}`)}: ${field}.${name} ${message}`, `${field}.${name}`);
  for (const key of Object.keys(b)) if (!ACME_FIELDS.has(key)) throw fail(key, `is not a setting of an ACME issuer (${[...ACME_FIELDS].join(', ')})`);
  let url: URL | undefined;
  try {
    url = new URL(String(b.directoryUrl));
  } catch {
    // Reported below.
  }
  if (typeof b.directoryUrl !== 'string' || url?.protocol !== 'https:' || url.username || url.password || url.hash) throw fail('directoryUrl', 'must be the https URL of the CA\'s ACME directory (RFC 8555 7.1.1), without credentials or a fragment');
  const contact = b.contact === undefined ? [] : Array.isArray(b.contact) ? b.contact : [b.contact];
  // One address per mailto: URL, no header fields or encoded characters (RFC 8555 7.3: CAs refuse the rest).
  for (const c of contact) if (typeof c !== 'string' || !/^mailto:[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$/.test(c)) throw fail('contact', `must be mailto: URLs of one plain address each (RFC 8555 7.3), not ${JSON.stringify(c)}`);
  if (b.termsOfServiceAgreed !== undefined && typeof b.termsOfServiceAgreed !== 'boolean') throw fail('termsOfServiceAgreed', 'must be true or false');
  if (b.challenge !== undefined && b.challenge !== 'http-01' && b.challenge !== 'dns-01' && b.challenge !== 'tls-alpn-01') throw fail('challenge', 'must be http-01 (answered by certops\' own server), dns-01 (a TXT record through dns) or tls-alpn-01 (certops\' validation responder)');
  const dns = b.challenge === 'dns-01' ? parseDnsUpdates(b.dns, (name, message) => fail(`dns.${name}`, message)) : undefined;
  if (b.challenge !== 'dns-01' && b.dns !== undefined) throw fail('dns', 'applies to challenge: dns-01 only');
  if (b.webroot !== undefined && ((b.challenge ?? 'http-01') !== 'http-01' || typeof b.webroot !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(b.webroot))) throw fail('webroot', 'must name a filesystem target (its directory is the webroot), with challenge http-01');
  // A profile name is the CA's own token (Let's Encrypt: classic, tlsserver, shortlived).
  if (b.profile !== undefined && (typeof b.profile !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(b.profile))) throw fail('profile', 'must be the name of one of the CA\'s profiles (its directory\'s meta.profiles)');
  let caBundlePem: string | undefined;
  if (b.caBundle !== undefined) {
    if (typeof b.caBundle !== 'string') throw fail('caBundle', 'must be PEM text');
    caBundlePem = b.caBundle;
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(caBundlePem)) throw fail('caBundle', 'holds a private key: only the CA certificates to trust go here (the configuration is readable by admins and kept in its history)');
    wrapAt(at, `${field}.caBundle`, () => certificateBlocks(caBundlePem!, `${field}.caBundle`).forEach((der) => {
      if (!parseCertificate(der, `${field}.caBundle`).extensions.basicConstraints?.ca) throw new ValidationError(`${field}.caBundle holds a certificate that is not a CA's`, `${field}.caBundle`);
    }));
  }
  let externalAccountBinding: AcmeIssuerConfig['externalAccountBinding'];
  if (b.externalAccountBinding !== undefined) {
    const eab = b.externalAccountBinding as Record<string, unknown>;
    if (!eab || typeof eab !== 'object' || Array.isArray(eab)) throw fail('externalAccountBinding', 'must hold kid and hmacKey');
    if (typeof eab.kid !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(eab.kid)) throw fail('externalAccountBinding.kid', 'must be the key id the CA gave (printable, no spaces)');
    // A secret is named, never written here: the configuration is in the table, its history and the audit trail.
    if (typeof eab.hmacKey !== 'string' || !SECRET_REF.test(eab.hmacKey)) throw fail('externalAccountBinding.hmacKey', 'must name where the HMAC key is (env:NAME or secretsmanager:ID), not hold it');
    externalAccountBinding = { kid: eab.kid, hmacKeyRef: eab.hmacKey };
  }
  return { type: 'acme', directoryUrl: url.href, contact: contact as string[], termsOfServiceAgreed: b.termsOfServiceAgreed === true, challenge: (b.challenge as AcmeIssuerConfig['challenge'] | undefined) ?? 'http-01', ...(dns ? { dns } : {}), ...(typeof b.webroot === 'string' ? { webroot: b.webroot } : {}), ...(caBundlePem ? { caBundlePem } : {}), ...(externalAccountBinding ? { externalAccountBinding } : {}), ...(typeof b.profile === 'string' ? { profile: b.profile } : {}) };
}

/** dns-01's `dns` setting: `rfc2136: { server: host:port, zone, keyName, keyAlgorithm, keySecret: env:|secretsmanager: }` or `route53: { hostedZoneId }`. */
function parseDnsUpdates(value: unknown, fail: (name: string, message: string) => ValidationError): NonNullable<AcmeIssuerConfig['dns']> {
  const one = value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1;
  const route53 = one ? (value as { route53?: Record<string, unknown> }).route53 : undefined;
  if (route53 !== undefined) {
    // Hosted zone ids are upper-case letters and digits (Route 53 API: HostedZone.Id without /hostedzone/).
    if (!route53 || typeof route53 !== 'object' || Object.keys(route53).join() !== 'hostedZoneId' || typeof route53.hostedZoneId !== 'string' || !/^Z[A-Z0-9]{1,32}$/.test(route53.hostedZoneId)) {
      throw fail('route53.hostedZoneId', 'must be the id of the hosted zone (Z...), and the only setting of route53');
    }
    return { route53: { hostedZoneId: route53.hostedZoneId } };
  }
  const r = one ? (value as { rfc2136?: Record<string, unknown> }).rfc2136 : undefined;
  if (!r || typeof r !== 'object') throw fail('rfc2136', 'must say where TXT records go: rfc2136: { server, zone, keyName, keyAlgorithm, keySecret } or route53: { hostedZoneId }');
  for (const key of Object.keys(r)) if (!['server', 'zone', 'keyName', 'keyAlgorithm', 'keySecret'].includes(key)) throw fail(`rfc2136.${key}`, 'is not a setting of rfc2136 (server, zone, keyName, keyAlgorithm, keySecret)');
  const server = typeof r.server === 'string' ? /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(r.server) : null;
  if (!server || Number(server[2]) < 1 || Number(server[2]) > 65535) throw fail('rfc2136.server', 'must be host:port of the zone\'s primary server');
  const name = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;
  if (typeof r.zone !== 'string' || !name.test(r.zone)) throw fail('rfc2136.zone', 'must be the zone\'s name');
  if (typeof r.keyName !== 'string' || !name.test(r.keyName)) throw fail('rfc2136.keyName', 'must be the TSIG key\'s name');
  const keyAlgorithm = r.keyAlgorithm ?? 'hmac-sha256';
  if (keyAlgorithm !== 'hmac-sha256' && keyAlgorithm !== 'hmac-sha512') throw fail('rfc2136.keyAlgorithm', 'must be hmac-sha256 or hmac-sha512');
  if (typeof r.keySecret !== 'string' || !SECRET_REF.test(r.keySecret)) throw fail('rfc2136.keySecret', 'must name where the TSIG secret is (env:NAME or secretsmanager:ID), not hold it');
  return { rfc2136: { host: server[1].replace(/^\[|\]$/g, ''), port: Number(server[2]), zone: r.zone, keyName: r.keyName, keyAlgorithm, keySecretRef: r.keySecret } };
}

function parseDeploymentRules(value: unknown, at: (field: string) => string): DeploymentRule[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ValidationError(`${at('deployment.rules')}: deployment.rules must be a list`, 'deployment.rules');
  return value.map((r, i) => {
    const field = `deployment.rules.${i}`;
    if (!r || typeof r !== 'object' || (!r.domain && !r.environment)) throw new ValidationError(`${at(field)}: ${field} needs a domain or an environment`, field);
    if (!Array.isArray(r.targets) || r.targets.length === 0 || r.targets.some((t: unknown) => typeof t !== 'string')) throw new ValidationError(`${at(field)}: ${field}.targets must list target names`, `${field}.targets`);
    return { domain: r.domain, environment: r.environment, targets: r.targets };
  });
}

function parseDeploymentRoots(value: unknown, at: (field: string) => string): { deploymentRoots?: string[] } {
  if (value === undefined) return {};
  if (!Array.isArray(value) || value.length === 0 || value.some((r) => typeof r !== 'string' || !isAbsolute(r) || r.split(/[\\/]/).includes('..'))) {
    throw new ValidationError(`${at('deployment.allowedRoots')}: deployment.allowedRoots must list absolute folders without ..`, 'deployment.allowedRoots');
  }
  return { deploymentRoots: value.map((r: string) => resolve(r)) };
}

function parseCtFetch(ct: Record<string, unknown>, at: (field: string) => string): SuiteConfig['ctFetch'] {
  const positive = (field: 'concurrency' | 'requestsPerSecond', integer: boolean) => {
    const v = ct[field];
    if (v !== undefined && !(typeof v === 'number' && v > 0 && (!integer || Number.isInteger(v)))) throw new ValidationError(`${at(`ct.${field}`)}: ct.${field} must be a positive ${integer ? 'integer' : 'number'}`, `ct.${field}`);
    return v as number | undefined;
  };
  const requestsPerSecond = positive('requestsPerSecond', false);
  return { concurrency: positive('concurrency', true) ?? 4, ...(requestsPerSecond ? { requestsPerSecond } : {}) };
}

function parseAllowedIssuers(value: unknown, at: (field: string) => string): Record<string, string[]> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => !Array.isArray(v) || v.some((d) => typeof d !== 'string'))) {
    throw new ValidationError(`${at('ct.allowedIssuers')}: ct.allowedIssuers maps each domain to a list of issuer DNs`, 'ct.allowedIssuers');
  }
  return value as Record<string, string[]>;
}

/**
 * Checks a configuration document (as YAML or JSON gives it) and reads it into the suite's
 * settings. `at(field)` says where a field is, for messages (file:line for a file, `configuration`
 * for a document sent to the API); files it names (trustedRootsFile, a file sink's path) are read
 * from `base`. A mistake is a ValidationError whose field is the dotted path of the field.
 */
export function parseSuiteConfig(root: Record<string, unknown>, at: (field: string) => string, base: string, siemFile: string, lastingDisk = true): SuiteConfig {
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new ValidationError(`${at('configuration')}: the configuration must be a mapping`, 'configuration');
  checkBounds(root, at);
  const unknown = Object.keys(root).filter((k) => !SECTIONS.includes(k));
  if (unknown.length) throw new ValidationError(`${at(unknown[0])}: ${unknown[0]} is not a section of the configuration (${SECTIONS.join(', ')})`, unknown[0]);
  const wrap = <T>(field: string, read: () => T): T => wrapAt(at, field, read);
  const inventory = (root.inventory ?? {}) as Record<string, unknown>;
  const list = (field: string, value: unknown): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new ValidationError(`${at(field)}: ${field} must be a list of strings`, field);
    return value;
  };
  const ports = inventory.scanPorts === undefined ? [443] : inventory.scanPorts;
  const issuers = parseIssuers(root.issuers, at);
  if (!Array.isArray(ports) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new ValidationError(`${at('inventory.scanPorts')}: inventory.scanPorts must be a list of ports`, 'inventory.scanPorts');
  return {
    ownership: wrap('inventory.ownership', () => parseOwnershipRules(inventory.ownership)),
    scanTargets: list('inventory.scanTargets', inventory.scanTargets),
    scanPorts: ports as number[],
    scanLimits: wrap('inventory.scanLimits', () => parseScanLimits(inventory.scanLimits)),
    acmRegions: list('inventory.acmRegions', inventory.acmRegions).map((r) => wrap('inventory.acmRegions', () => awsRegion(r, 'inventory.acmRegions'))),
    trustedRootsPem: inlineRoots(inventory.trustedRootsPem, at) + wrap('inventory.trustedRootsFile', () => readRoots(inventory.trustedRootsFile, base)),
    policy: parsePolicy(root.policy, at),
    issuers,
    deploymentRules: parseDeploymentRules((root.deployment as Record<string, unknown> | undefined)?.rules, at),
    ...parseDeploymentRoots((root.deployment as Record<string, unknown> | undefined)?.allowedRoots, at),
    // A file sink's relative path is read from the configuration's folder, as trustedRootsFile is.
    siemSinks: parseSinks((root.siem as Record<string, unknown> | undefined)?.sinks, at, siemFile, lastingDisk).map((s) => (s.path ? { ...s, path: resolve(base, s.path) } : s)),
    notifications: parseNotifications(root.notifications, at),
    ctAllowedIssuers: parseAllowedIssuers((root.ct as Record<string, unknown> | undefined)?.allowedIssuers, at),
    ctFetch: parseCtFetch((root.ct ?? {}) as Record<string, unknown>, at),
    tokenLifetime: parseTokenLifetime(root.tokens, at),
    acmeServer: wrap('acmeServer', () => parseAcmeServerConfig(root.acmeServer, Object.keys(issuers))),
    document: root,
  };
}

/** Where a field of a document sent to the API is: the field's path says it. */
export const IN_DOCUMENT = () => 'configuration';
