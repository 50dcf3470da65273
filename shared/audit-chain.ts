import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';

/** What the audit trail records of an event. */
export interface AuditEvent {
  eventId: string;
  detailType: string;
  source: string;
  occurredAt: string;
  certificateId?: string;
  detail: Record<string, unknown>;
}

/** One record of the audit trail: an event, its place in the chain, and the hash that seals both. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  prevHash: string;
  hash: string;
}

/** The hash the first record links to. */
export const GENESIS = '0'.repeat(64);

/** SHA-256 over the canonical JSON of everything in the record but its own hash (so anyone can recompute it). */
export function recordHash(record: Omit<AuditRecord, 'hash'>): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export interface ChainProblem {
  seq: number;
  kind: 'altered' | 'removed' | 'inserted';
  message: string;
}

/**
 * Walks records in sequence order and names the first one that breaks the chain: altered (its
 * hash no longer matches its content), removed (a sequence number is missing, or the trail stops
 * short of the head it committed), or inserted (it does not link to the record before it).
 * @param head where the trail said it ended before the records were read: records past it (appended
 *   since) are walked too, but the walk must pass through it.
 */
export function verifyChain(records: Iterable<AuditRecord>, head?: { seq: number; hash: string }): { valid: boolean; records: number; problem?: ChainProblem } {
  let previous: AuditRecord | undefined;
  let count = 0;
  for (const r of records) {
    count++;
    if (recordHash(r) !== r.hash) return { valid: false, records: count, problem: { seq: r.seq, kind: 'altered', message: `record ${r.seq} (${r.detailType}, ${r.eventId}) was altered: its content no longer matches its hash` } };
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (r.seq > expectedSeq) return { valid: false, records: count, problem: { seq: expectedSeq, kind: 'removed', message: `record ${expectedSeq}${expectedSeq < r.seq - 1 ? `..${r.seq - 1}` : ''} was removed: the chain jumps from ${previous?.seq ?? 0} to ${r.seq}` } };
    if (r.seq < expectedSeq || r.prevHash !== (previous?.hash ?? GENESIS)) {
      return { valid: false, records: count, problem: { seq: r.seq, kind: 'inserted', message: `record ${r.seq} (${r.detailType}, ${r.eventId}) was inserted: it does not link to record ${previous?.seq ?? 0}` } };
    }
    if (head && r.seq === head.seq && r.hash !== head.hash) {
      return { valid: false, records: count, problem: { seq: r.seq, kind: 'altered', message: `record ${r.seq} (${r.detailType}, ${r.eventId}) is not the record the trail committed there: its hash differs from the head's` } };
    }
    previous = r;
  }
  const last = previous?.seq ?? 0;
  if (head && last < head.seq) return { valid: false, records: count, problem: { seq: last + 1, kind: 'removed', message: `record ${last + 1}${last + 1 < head.seq ? `..${head.seq}` : ''} was removed: the trail stops at ${last}, its head is at ${head.seq}` } };
  return { valid: true, records: count };
}
