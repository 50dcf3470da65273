import type { StoredCertificate } from './model.ts';
import { isUnder } from './names.ts';

export interface DeploymentRule {
  domain?: string;
  environment?: string;
  targets: string[];
}

/** The targets a certificate goes to: those it names, and those of every rule whose domain and environment match it. */
export function targetsFor(cert: Pick<StoredCertificate, 'targets' | 'subjectAlternativeNames' | 'environment'>, rules: DeploymentRule[]): string[] {
  const matched = rules.filter((r) =>
    (!r.domain || cert.subjectAlternativeNames.some((n) => isUnder(n.toLowerCase().replace(/^\*\./, ''), r.domain!.toLowerCase().replace(/^\./, '')))) &&
    (!r.environment || r.environment === cert.environment));
  return [...new Set([...cert.targets, ...matched.flatMap((r) => r.targets)])];
}
