import type { Role, Target } from './model.ts';

/** Who may name a target for a certificate, and certificates of which environments it takes. */
export interface TargetAccess {
  /** Principals (token names) who may name it. */
  owners: string[];
  /** Roles whose holders may name it. */
  roles: Role[];
  /** The environments of the certificates it takes; empty: any. */
  environments: string[];
}

const NONE: TargetAccess = { owners: [], roles: [], environments: [] };

/** A target's access rules; a target that states none is for admins only. */
export function accessOf(target: Target): TargetAccess {
  return { ...NONE, ...(target.allowed as Partial<TargetAccess> | undefined) };
}

/** Why a certificate of `environment` may not go to `target`, or undefined when it may (applies to everyone, admins and deployment rules too). */
export function environmentRefusal(target: Target, environment: string | undefined): string | undefined {
  const { environments } = accessOf(target);
  if (environments.length === 0 || (environment && environments.includes(environment))) return undefined;
  return `target ${target.name} takes certificates of ${environments.join(', ')} only, not ${environment ?? 'one without an environment'}`;
}

/**
 * Why `caller` may not name `target` for a certificate of `environment`, or undefined when they
 * may: admins may name any target, others one whose owners or roles include them; and the
 * target's environments apply to everyone.
 */
export function targetRefusal(target: Target, caller: { name: string; role: Role }, environment: string | undefined): string | undefined {
  const byEnvironment = environmentRefusal(target, environment);
  if (byEnvironment) return byEnvironment;
  const { owners, roles } = accessOf(target);
  if (caller.role === 'admin' || owners.includes(caller.name) || roles.includes(caller.role)) return undefined;
  return `${caller.name} may not deploy to target ${target.name} (its owners: ${owners.join(', ') || 'none'}; roles: ${roles.join(', ') || 'admin only'})`;
}
