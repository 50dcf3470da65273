import { createHash } from 'node:crypto';
import { canonicalJson } from '../../shared/canonical-json.ts';
import { changedPaths, configDiff } from '../../shared/config-diff.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../shared/errors.ts';
import { newEvent } from '../../shared/events/envelope.ts';
import type { Clock, ConfigChange, ConfigChangeStore, ConfigPreview, ConfigRecord, ConfigStore, TokenStore } from '../../shared/ports.ts';
import { announceAfter, type AnnounceDeps } from '../../shared/announce.ts';
import { INVENTORY } from './announcements.ts';

/**
 * What one admin may change alone: where and how often to look (scan targets and ports, ACM
 * regions, CT fetch pacing). Everything else (the policy, the CA backends, ownership rules that
 * pick the policy's rule, where keys are deployed, the SIEM export, token lifetimes, scan limits,
 * trusted roots) needs a second admin's approval (four eyes).
 */
const SINGLE_ADMIN = /^(inventory\.(scanTargets|scanPorts|acmRegions)|ct\.(concurrency|requestsPerSecond))$/;

export interface ConfigDeps extends AnnounceDeps {
  clock: Clock;
  newId(): string;
  configurations: ConfigStore;
  configChanges: ConfigChangeStore;
  tokens: TokenStore;
}

/** Who asks: the principal's name and the token it called with. */
export interface ConfigCaller {
  name: string;
  tokenId: string;
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

/** How a document compares with the version in force: unchanged, or applied by one admin, or pending a second (SINGLE_ADMIN). */
function judged(document: Record<string, unknown>, current: ConfigRecord | undefined): { outcome: ConfigPreview['wouldBe']; changed: string[] } {
  const changed = changedPaths(current?.document ?? {}, document);
  // Nothing recorded yet and nothing asked (the defaults, as `config get` gives them): no version 1 that says nothing.
  if (current?.hash === configHash(document) || (!current && changed.length === 0)) return { outcome: 'unchanged', changed };
  // Judged field by field: a section that appears or goes whole is compared with an empty one.
  const sections = { inventory: {}, ct: {} };
  const alone = changedPaths({ ...sections, ...current?.document }, { ...sections, ...document }).every((p) => SINGLE_ADMIN.test(p));
  return { outcome: alone ? 'applied' : 'pending', changed };
}

/** What `document` (already checked) would change and who must agree, recording nothing. */
export async function previewConfiguration(document: Record<string, unknown>, deps: Pick<ConfigDeps, 'configurations'>): Promise<ConfigPreview> {
  const current = await deps.configurations.latest();
  const { outcome, changed } = judged(document, current);
  return { wouldBe: outcome, version: current?.version ?? 0, changed, diff: configDiff(current?.document ?? {}, document) };
}

/**
 * A configuration an admin sent (already checked): applied at once when it changes only what one
 * admin may change alone (SINGLE_ADMIN), else kept as a proposal that another admin must approve
 * (config.change_proposed). ConflictError when another change was recorded meanwhile.
 */
export async function changeConfiguration(document: Record<string, unknown>, caller: string, deps: ConfigDeps): Promise<ConfigChangeOutcome> {
  const current = await deps.configurations.latest();
  const { outcome, changed } = judged(document, current);
  if (outcome === 'unchanged') return { status: 'unchanged', version: current?.version ?? 0 };
  if (outcome === 'applied') {
    const recorded = await recordConfiguration(document, { changedBy: caller, location: 'api' }, deps, current);
    if (!recorded) throw new ConflictError('the configuration changed while this change was made; read it again and resend', 'configuration');
    return { status: 'applied', version: recorded.version, changed };
  }
  const now = deps.clock.now();
  const change: ConfigChange = {
    changeId: deps.newId(), document, hash: configHash(document), baseVersion: current?.version ?? 0, ...(current ? { baseHash: current.hash } : {}),
    changed, diff: configDiff(current?.document ?? {}, document), proposedBy: caller, proposedAt: now.toISOString(), status: 'pending',
  };
  const proposed = newEvent('config.change_proposed', { changeId: change.changeId, baseVersion: change.baseVersion, changed, diff: change.diff, proposedBy: caller }, { now: () => now, newId: () => `config-change:${change.changeId}` });
  await announceAfter(INVENTORY, [proposed], () => deps.configChanges.propose(change), deps);
  return { status: 'pending', changeId: change.changeId, changed };
}

/**
 * Why `approver` is not a second admin to the proposal's author, or undefined: the same name
 * (without case), or a token made after the proposal (minted on the spot to approve it). An admin
 * who minted an admin token before proposing could still approve under it: admins are trusted to
 * be distinct people, and the audit trail names who made each token (token.created).
 */
async function notASecondAdmin(proposedBy: string, proposedAt: string, approver: ConfigCaller, tokens: TokenStore): Promise<string | undefined> {
  if (approver.name.toLowerCase() === proposedBy.toLowerCase()) return `${approver.name} proposed it`;
  const token = await tokens.get(approver.tokenId);
  if (!token || token.createdAt >= proposedAt) return `${approver.name}'s token was made after the change was proposed`;
  return undefined;
}

/**
 * A second admin approves a proposal (it is put in force as its proposer's change, approved by
 * them) or any admin rejects it (config.change_rejected). The approval is claimed first (pending
 * to approving), so an approval and a rejection at once cannot both win; approving an `approving`
 * change again (after a crash) finishes it. The proposer cannot approve, nor a token made after
 * the proposal (ForbiddenError); a proposal made against a configuration no longer in force cannot be
 * approved (ConflictError: propose it again). `check` reads the document as it would be in force.
 */
export async function decideConfigChange(changeId: string, decision: 'approve' | 'reject', caller: ConfigCaller, comment: string | undefined, check: (document: Record<string, unknown>) => void, deps: ConfigDeps): Promise<ConfigChange> {
  const change = await deps.configChanges.get(changeId);
  if (!change) throw new NotFoundError(`no configuration change ${changeId}`, 'changeId');
  const now = deps.clock.now();
  const decided = { decidedBy: caller.name, decidedAt: now.toISOString(), ...(comment ? { comment } : {}) };
  const lost = () => new ConflictError(`configuration change ${changeId} was decided meanwhile`, 'changeId');
  if (decision === 'reject') {
    if (change.status !== 'pending') throw new ConflictError(`configuration change ${changeId} is ${change.status} (${change.decidedBy})`, 'changeId');
    const rejected = newEvent('config.change_rejected', { changeId, rejectedBy: caller.name, ...(comment ? { comment } : {}) }, { now: () => now, newId: () => `config-change-rejected:${changeId}` });
    if (!(await announceAfter(INVENTORY, [rejected], () => deps.configChanges.decide(changeId, { status: 'rejected', ...decided }, 'pending'), deps))) throw lost();
    return { ...change, status: 'rejected', ...decided };
  }
  if (change.status !== 'pending' && change.status !== 'approving') throw new ConflictError(`configuration change ${changeId} is ${change.status} (${change.decidedBy})`, 'changeId');
  const refusal = await notASecondAdmin(change.proposedBy, change.proposedAt, caller, deps.tokens);
  if (refusal) throw new ForbiddenError(`another admin must approve configuration change ${changeId}: ${refusal}`, 'changeId');
  const current = await deps.configurations.latest();
  const inForce = current?.hash === change.hash;
  if (!inForce && (current?.hash !== change.baseHash || (current?.version ?? 0) !== change.baseVersion)) {
    throw new ConflictError(`the configuration is at version ${current?.version ?? 0}, this change was proposed against version ${change.baseVersion}: propose it again`, 'changeId');
  }
  check(change.document);
  if (change.status === 'pending' && !(await deps.configChanges.decide(changeId, { status: 'approving', ...decided }, 'pending'))) throw lost();
  if (!inForce) {
    const recorded = await recordConfiguration(change.document, { changedBy: change.proposedBy, approvedBy: caller.name, changeId, location: 'api' }, deps, current);
    if (!recorded) throw new ConflictError('the configuration changed while this change was approved: approve it again, or propose it again', 'changeId');
  }
  await deps.configChanges.decide(changeId, { status: 'approved', ...decided }, 'approving');
  return { ...change, status: 'approved', ...decided };
}
