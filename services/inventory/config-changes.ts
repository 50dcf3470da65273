import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { changedPaths, configDiff } from '../../shared/config-diff.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { Clock, ConfigChange, ConfigChangeStore, ConfigRecord, ConfigStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { INVENTORY } from './announcements.ts';

/** Changes under these paths need a second admin's approval (four eyes): the signing policy and the CA backends. */
const NEEDS_APPROVAL = /^(policy|issuers)(\.|$)|^\(whole document\)$/;

export interface ConfigDeps extends AnnounceDeps {
  clock: Clock;
  newId(): string;
  configurations: ConfigStore;
  configChanges: ConfigChangeStore;
}

/** Where a configuration came from and who put it in force. */
export interface ConfigOrigin {
  changedBy: string;
  /** `api`, or the configuration file's path. */
  location: string;
  approvedBy?: string;
  changeId?: string;
}

export const configHash = (document: Record<string, unknown>) => createHash('sha256').update(canonicalJson(document)).digest('hex');

/**
 * Puts `document` in force as the next version, announced as config.changed (who, what, the diff)
 * in the audit trail. The same document again changes nothing.
 * @returns the version recorded; undefined when nothing changed or another change came first.
 */
export async function recordConfiguration(document: Record<string, unknown>, origin: ConfigOrigin, deps: Pick<ConfigDeps, keyof AnnounceDeps | 'clock' | 'configurations'>, previous?: ConfigRecord): Promise<ConfigRecord | undefined> {
  const hash = configHash(document);
  const current = previous ?? (await deps.configurations.latest());
  if (current?.hash === hash) return undefined;
  const now = deps.clock.now();
  const next: ConfigRecord = {
    version: (current?.version ?? 0) + 1, hash, document, ...origin, changedAt: now.toISOString(),
    changed: changedPaths(current?.document ?? {}, document), diff: configDiff(current?.document ?? {}, document),
  };
  const { document: _document, changedAt: _at, ...detail } = next;
  // One id per change (from what to what, when): going back to an earlier configuration is a change too.
  const announcement = newEvent('config.changed', { ...detail, ...(current ? { previousHash: current.hash } : {}) }, { now: () => now, newId: () => `config:${current?.hash ?? 'none'}:${hash}:${now.toISOString()}` });
  return (await announceAfter(INVENTORY, [announcement], () => deps.configurations.record(next, current), deps)) ? next : undefined;
}

export type ConfigChangeOutcome =
  | { status: 'unchanged'; version: number }
  | { status: 'applied'; version: number; changed: string[] }
  | { status: 'pending'; changeId: string; changed: string[] };

/**
 * A configuration an admin sent (already checked by `validate`): applied at once, or, when it
 * changes the policy or the issuers, kept as a proposal that another admin must approve
 * (config.change_proposed). ConflictError when another change was recorded meanwhile.
 */
export async function changeConfiguration(document: Record<string, unknown>, caller: string, deps: ConfigDeps): Promise<ConfigChangeOutcome> {
  const current = await deps.configurations.latest();
  const hash = configHash(document);
  if (current?.hash === hash) return { status: 'unchanged', version: current.version };
  const changed = changedPaths(current?.document ?? {}, document);
  if (!changed.some((p) => NEEDS_APPROVAL.test(p))) {
    const recorded = await recordConfiguration(document, { changedBy: caller, location: 'api' }, deps, current);
    if (!recorded) throw new ConflictError('the configuration changed while this change was made; read it again and resend', 'configuration');
    return { status: 'applied', version: recorded.version, changed };
  }
  const now = deps.clock.now();
  const change: ConfigChange = {
    changeId: deps.newId(), document, hash, baseVersion: current?.version ?? 0, ...(current ? { baseHash: current.hash } : {}),
    changed, diff: configDiff(current?.document ?? {}, document), proposedBy: caller, proposedAt: now.toISOString(), status: 'pending',
  };
  const proposed = newEvent('config.change_proposed', { changeId: change.changeId, baseVersion: change.baseVersion, changed, diff: change.diff, proposedBy: caller }, { now: () => now, newId: () => `config-change:${change.changeId}` });
  await announceAfter(INVENTORY, [proposed], () => deps.configChanges.propose(change), deps);
  return { status: 'pending', changeId: change.changeId, changed };
}

/**
 * A second admin approves a proposal (it is put in force as its proposer's change, approved by
 * them) or any admin rejects it (config.change_rejected). The proposer cannot approve their own;
 * a proposal made against a configuration that is no longer in force cannot be approved
 * (ConflictError: propose it again). Approving again after a crash finishes the same approval.
 */
export async function decideConfigChange(changeId: string, decision: 'approve' | 'reject', caller: string, comment: string | undefined, deps: ConfigDeps): Promise<ConfigChange> {
  const change = await deps.configChanges.get(changeId);
  if (!change) throw new NotFoundError(`no configuration change ${changeId}`, 'changeId');
  if (change.status !== 'pending') throw new ConflictError(`configuration change ${changeId} was ${change.status} by ${change.decidedBy}`, 'changeId');
  const now = deps.clock.now();
  const decided = { decidedBy: caller, decidedAt: now.toISOString(), ...(comment ? { comment } : {}) };
  if (decision === 'reject') {
    const rejected = newEvent('config.change_rejected', { changeId, rejectedBy: caller, ...(comment ? { comment } : {}) }, { now: () => now, newId: () => `config-change-rejected:${changeId}` });
    if (!(await announceAfter(INVENTORY, [rejected], () => deps.configChanges.decide(changeId, { status: 'rejected', ...decided }), deps))) throw new ConflictError(`configuration change ${changeId} was decided meanwhile`, 'changeId');
    return { ...change, status: 'rejected', ...decided };
  }
  if (change.proposedBy === caller) throw new ForbiddenError(`${caller} proposed configuration change ${changeId}: another admin must approve it`, 'changeId');
  const current = await deps.configurations.latest();
  // Already in force: an approval a crash cut off before it was marked.
  if (current?.hash !== change.hash) {
    if (current?.hash !== change.baseHash) throw new ConflictError(`the configuration is at version ${current?.version ?? 0}, this change was proposed against version ${change.baseVersion}: propose it again`, 'changeId');
    const recorded = await recordConfiguration(change.document, { changedBy: change.proposedBy, approvedBy: caller, changeId, location: 'api' }, deps, current);
    if (!recorded) throw new ConflictError('the configuration changed while this change was approved: propose it again', 'changeId');
  }
  await deps.configChanges.decide(changeId, { status: 'approved', ...decided });
  return { ...change, status: 'approved', ...decided };
}
