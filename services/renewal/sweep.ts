import type { CertificateStore, Clock, SagaStarter } from '../../shared/ports.ts';
import { renewalWindowOpens } from './renewal-window.ts';

export interface SweepDeps {
  clock: Clock;
  certificates: CertificateStore;
  saga: SagaStarter;
}

export interface SweepResult {
  examined: number;
  started: string[];
}

const DAY_MS = 86_400_000;

/**
 * Sweeps start one saga per certificate per day, so a repeated or retried sweep starts nothing new;
 * a manual renewal is named to the second, so asking again later is a new attempt.
 */
export function executionName(certificateId: string, at: Date, trigger: 'sweep' | 'manual'): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `renew-${certificateId}-${trigger === 'manual' ? `manual-${stamp.slice(0, 15)}` : stamp.slice(0, 8)}`;
}

/**
 * Finds managed certificates whose renewal window has opened (an index query on expiry, never a
 * scan) and starts the renew-then-deploy saga for each.
 */
export async function sweepExpiring(deps: SweepDeps, windowDays: number): Promise<SweepResult> {
  const now = deps.clock.now();
  const horizon = new Date(now.getTime() + windowDays * DAY_MS);
  const result: SweepResult = { examined: 0, started: [] };
  let nextToken: string | undefined;
  do {
    const page = await deps.certificates.expiringBefore(horizon, 100, nextToken);
    for (const cert of page.items) {
      result.examined++;
      if (cert.source !== 'issued' || cert.status !== 'active') continue;
      if (renewalWindowOpens(cert.notBefore, cert.notAfter, windowDays) > now) continue;
      const name = executionName(cert.id, now, 'sweep');
      await deps.saga.start(name, { certificateId: cert.id, executionName: name, trigger: 'sweep' });
      result.started.push(cert.id);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return result;
}
