import { isIP } from 'node:net';
import { isUnder } from '../../shared/names.ts';

/** Names a fresh install issues without configuration: the reserved example domains (RFC 2606, RFC 6761). */
const RESERVED = ['example.com', 'example.net', 'example.org', 'test', 'localhost'];

export interface Verdict {
  decision: 'allow' | 'needs_approval';
  reasons: string[];
}

/** The out-of-the-box policy: reserved names are allowed, anything else waits for an approver. */
export function defaultPolicy(names: string[]): Verdict {
  const outside = names.filter((n) => !isIP(n) && !RESERVED.some((d) => isUnder(n.replace(/^\*\./, ''), d)));
  const ips = names.filter((n) => isIP(n) && !['127.0.0.1', '::1'].includes(n) && !n.startsWith('10.') && !n.startsWith('192.168.'));
  const reasons = [
    ...outside.map((n) => `${n} is outside the domains allowed without approval (${RESERVED.join(', ')})`),
    ...ips.map((n) => `${n} is not a private or loopback address`),
  ];
  return { decision: reasons.length ? 'needs_approval' : 'allow', reasons };
}
