import { newEvent } from '../../shared/events/envelope.ts';
import type { Role, Target } from '../../shared/model.ts';
import type { Clock, TargetStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { DEPLOYMENT } from './announcements.ts';

/** What target.registered tells the audit trail: where keys may now be written and what runs there (never a secret). */
const AUDITED = ['endpoint', 'directory', 'reloadCommand', 'url', 'region', 'certificateArn', 'secretId', 'secretEnv', 'allowed'] as const;

/**
 * Registers a target, or changes the one of that name, and says so (target.registered): a target
 * is where private keys get written and commands run, so each change is on the record.
 */
export async function registerTarget(target: Target, registrar: { name: string; role: Role }, deps: AnnounceDeps & { clock: Clock; targets: TargetStore; newId(): string }): Promise<Target> {
  const replaced = Boolean(await deps.targets.get(target.name));
  const registeredBy = registrar.name;
  const at = deps.clock.now();
  const stored: Target = { ...target, registeredBy, registeredByRole: registrar.role, registeredAt: at.toISOString() };
  const audited = Object.fromEntries(AUDITED.filter((k) => stored[k] !== undefined).map((k) => [k, stored[k]]));
  const registered = newEvent('target.registered', { target: target.name, targetType: target.type, registeredBy, replaced, ...audited }, { now: () => at, newId: deps.newId });
  await announceAfter(DEPLOYMENT, [registered], () => deps.targets.put(stored), deps);
  return stored;
}
