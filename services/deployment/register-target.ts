import { newEvent } from '../../shared/events/envelope.ts';
import type { Role, Target } from '../../shared/model.ts';
import type { Clock, EventPublisher, TargetStore } from '../../shared/ports.ts';

/** What target.registered tells the audit trail: where keys may now be written and what runs there (never a secret). */
const AUDITED = ['endpoint', 'directory', 'reloadCommand', 'url', 'region', 'certificateArn', 'secretId', 'secretEnv', 'allowed'] as const;

/**
 * Registers a target, or changes the one of that name, and says so (target.registered): a target
 * is where private keys get written and commands run, so each change is on the record.
 */
export async function registerTarget(target: Target, registrar: { name: string; role: Role }, deps: { clock: Clock; targets: TargetStore; publisher: EventPublisher; newId(): string }): Promise<Target> {
  const replaced = Boolean(await deps.targets.get(target.name));
  const registeredBy = registrar.name;
  const stored: Target = { ...target, registeredBy, registeredByRole: registrar.role, registeredAt: deps.clock.now().toISOString() };
  await deps.targets.put(stored);
  const audited = Object.fromEntries(AUDITED.filter((k) => stored[k] !== undefined).map((k) => [k, stored[k]]));
  await deps.publisher.publish([newEvent('target.registered', { target: target.name, targetType: target.type, registeredBy, replaced, ...audited }, { now: () => deps.clock.now(), newId: deps.newId })]);
  return stored;
}
