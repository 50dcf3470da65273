import { domainToASCII } from 'node:url';
import { ValidationError } from '../errors.ts';

/** A watched domain: `.example.com` covers the domain and every subdomain, `example.com` that name only. */
export interface WatchEntry {
  labels: string[];
  subdomains: boolean;
}

export function parseWatchEntry(raw: string, field = 'domains'): WatchEntry {
  const subdomains = raw.startsWith('.');
  const ascii = domainToASCII(raw.replace(/^\./, '').toLowerCase().replace(/\.$/, ''));
  if (!ascii || !ascii.includes('.') && ascii !== 'localhost') throw new ValidationError(`${field}: ${JSON.stringify(raw)} is not a domain name`, field);
  return { labels: ascii.split('.').reverse(), subdomains };
}

/** Compares label by label from the right; a wildcard or redacted ("?") label in the observed name matches any one label. */
export function watched(name: string, entries: WatchEntry[]): boolean {
  const labels = (domainToASCII(name.toLowerCase()) || name.toLowerCase()).split('.').reverse();
  return entries.some((entry) => {
    if (labels.length < entry.labels.length || (!entry.subdomains && labels.length !== entry.labels.length)) return false;
    return entry.labels.every((label, i) => labels[i] === label || labels[i] === '*' || labels[i] === '?');
  });
}
