import { ValidationError } from './errors.ts';

/**
 * One directory of certops' ACME server (`/acme/{profile}/directory`): which CA signs what its
 * clients order, for how long, and under which environment and owner policy judges the orders.
 */
export interface AcmeServerProfile {
  /** The issuer certops signs with ('local', or a configured issuer). */
  issuer?: string;
  validityDays: number;
  environment?: string;
  owner?: string;
  /** Accounts need an External Account Binding (RFC 8555 7.3.4) from a certops token. */
  externalAccountRequired: boolean;
}

/** Where the server looks when it validates a challenge (RFC 8555 8.3, 8.4; RFC 8737). */
export interface AcmeValidationSettings {
  http01Port: number;
  tlsAlpn01Port: number;
  /** A DNS server (`host:port`) to resolve names and TXT records with, instead of the system's. */
  dnsResolver?: string;
  /** Validate at loopback addresses too (a test bench, where every name is 127.0.0.1); never by default. */
  allowLoopback?: boolean;
}

export interface AcmeServerConfig {
  profiles: Record<string, AcmeServerProfile>;
  validation: AcmeValidationSettings;
}

export const NO_ACME_SERVER: AcmeServerConfig = { profiles: {}, validation: { http01Port: 80, tlsAlpn01Port: 443 } };

const PROFILE_FIELDS = ['issuer', 'validityDays', 'environment', 'owner', 'externalAccountRequired'];
const VALIDATION_FIELDS = ['http01Port', 'tlsAlpn01Port', 'dnsResolver', 'allowLoopback'];

function mapping(value: unknown, field: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be a mapping`, field);
  return value as Record<string, unknown>;
}

function onlyFields(obj: Record<string, unknown>, allowed: string[], field: string): void {
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) throw new ValidationError(`${field}.${key} is not a setting here (${allowed.join(', ')})`, `${field}.${key}`);
}

function port(obj: Record<string, unknown>, name: string, field: string, fallback: number): number {
  const value = obj[name] ?? fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) throw new ValidationError(`${field}.${name} must be a port (1-65535)`, `${field}.${name}`);
  return value as number;
}

function text(obj: Record<string, unknown>, name: string, field: string, pattern: RegExp, what: string): string | undefined {
  const value = obj[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw new ValidationError(`${field}.${name} must be ${what}`, `${field}.${name}`);
  return value;
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The `acmeServer` section, given the configured issuers' names: a ValidationError names the dotted path of a field it refuses. */
export function parseAcmeServerConfig(value: unknown, issuers: string[]): AcmeServerConfig {
  if (value === undefined) return NO_ACME_SERVER;
  const root = mapping(value, 'acmeServer');
  onlyFields(root, ['profiles', 'validation'], 'acmeServer');
  const profiles: Record<string, AcmeServerProfile> = {};
  for (const [name, raw] of Object.entries(mapping(root.profiles ?? {}, 'acmeServer.profiles'))) {
    const field = `acmeServer.profiles.${name}`;
    // The name is a path segment of every URL the profile serves.
    if (!NAME.test(name)) throw new ValidationError(`${field}: a profile's name must be lowercase letters, digits and dashes (it is a URL path segment)`, field);
    const p = mapping(raw ?? {}, field);
    onlyFields(p, PROFILE_FIELDS, field);
    const days = p.validityDays ?? 90;
    if (!Number.isInteger(days) || (days as number) < 1 || (days as number) > 825) throw new ValidationError(`${field}.validityDays must be an integer from 1 to 825`, `${field}.validityDays`);
    if (p.externalAccountRequired !== undefined && typeof p.externalAccountRequired !== 'boolean') throw new ValidationError(`${field}.externalAccountRequired must be true or false`, `${field}.externalAccountRequired`);
    const issuer = text(p, 'issuer', field, /^[A-Za-z0-9_-]{1,64}$/, 'the name of an issuer');
    if (issuer && issuer !== 'local' && !issuers.includes(issuer)) throw new ValidationError(`${field}.issuer names ${issuer}, which is neither local nor one of the issuers`, `${field}.issuer`);
    profiles[name] = {
      issuer,
      validityDays: days as number,
      environment: text(p, 'environment', field, /^[\x21-\x7e]{1,64}$/, 'an environment name'),
      owner: text(p, 'owner', field, /^[^\x00-\x1f]{1,128}$/, 'an owner (1-128 characters)'),
      externalAccountRequired: p.externalAccountRequired === true,
    };
  }
  const v = mapping(root.validation ?? {}, 'acmeServer.validation');
  onlyFields(v, VALIDATION_FIELDS, 'acmeServer.validation');
  const dnsResolver = text(v, 'dnsResolver', 'acmeServer.validation', /^[A-Za-z0-9.:[\]-]{1,100}$/, 'host:port of a DNS server');
  if (v.allowLoopback !== undefined && typeof v.allowLoopback !== 'boolean') throw new ValidationError('acmeServer.validation.allowLoopback must be true or false', 'acmeServer.validation.allowLoopback');
  return {
    profiles,
    validation: { http01Port: port(v, 'http01Port', 'acmeServer.validation', 80), tlsAlpn01Port: port(v, 'tlsAlpn01Port', 'acmeServer.validation', 443), ...(dnsResolver ? { dnsResolver } : {}), ...(v.allowLoopback ? { allowLoopback: true } : {}) },
  };
}
