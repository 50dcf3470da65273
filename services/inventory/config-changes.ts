import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { changedPaths } from '../../shared/config-diff.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { Clock, ConfigStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { INVENTORY } from './announcements.ts';

/**
 * Records the configuration now in force; when it differs from the one recorded before, that is a
 * change (config.changed, with the paths that changed) in the audit trail. The same document again
 * changes nothing. Returns the changed paths (empty when nothing changed).
 */
export async function recordConfiguration(document: Record<string, unknown>, changedBy: string, location: string, deps: AnnounceDeps & { clock: Clock; configurations: ConfigStore }): Promise<string[]> {
  const hash = createHash('sha256').update(canonicalJson(document)).digest('hex');
  const previous = await deps.configurations.latest();
  if (previous?.hash === hash) return [];
  const changed = changedPaths(previous?.document ?? {}, document);
  const now = deps.clock.now();
  // One id per change (from what to what, when): going back to an earlier configuration is a change too.
  const id = `config:${previous?.hash ?? 'none'}:${hash}:${now.toISOString()}`;
  const announcement = newEvent('config.changed', { hash, ...(previous ? { previousHash: previous.hash } : {}), changed, changedBy, location }, { now: () => now, newId: () => id });
  const recorded = await announceAfter(INVENTORY, [announcement], () => deps.configurations.record({ hash, document, changedBy, changedAt: now.toISOString() }, previous?.hash), deps);
  return recorded ? changed : [];
}
