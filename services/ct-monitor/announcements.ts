import type { Proofs } from '../../shared/announce.ts';
import type { CtStateStore } from '../../shared/ports.ts';

/** The CT monitor's partition of the announcement ledger. */
export const CT_MONITOR = 'ct-monitor';

/** Whether the state an intent announces is the stored one (its change happened, and nothing undid it since). */
export const ctProofs: Proofs<{ ct: CtStateStore }> = {
  'ct.log_added': async (e, deps) => (await deps.ct.getLog(String(e.detail.logUrl))) !== undefined,
  'ct.log_changed': async (e, deps) => {
    const log = await deps.ct.getLog(String(e.detail.logUrl));
    return e.detail.change === 'removed' ? log === undefined : log !== undefined && Boolean(log.paused) === (e.detail.change === 'paused');
  },
  'ct.watchlist_changed': async (e, deps) => {
    const domains = await deps.ct.getWatchlist();
    return (e.detail.added as string[]).every((d) => domains.includes(d)) && !(e.detail.removed as string[]).some((d) => domains.includes(d));
  },
  'ct.certificate_observed': async (e, deps) => (await deps.ct.getFinding(String(e.detail.certificateId)))?.status === 'authorized',
};
