import { ValidationError } from '../../shared/errors.ts';
import { newEvent, type BusEvent } from '../../shared/events/envelope.ts';
import type { CtFinding, CtLogState } from '../../shared/model.ts';
import type { CertificateStore, Clock, CtStateStore, EventPublisher, LogEntry, LogReader } from '../../shared/ports.ts';
import { CollapsedTree, leafHash, treeHash, verifyConsistency, verifyInclusion } from '../../shared/ct/merkle.ts';
import { parseLeaf } from '../../shared/ct/merkle-tree-leaf.ts';
import { parseSth, sthSignatureValid } from '../../shared/ct/signed-tree-head.ts';
import { parseWatchEntry, watched, type WatchEntry } from '../../shared/ct/watchlist.ts';
import { fingerprintSha256 } from '../../shared/x509/certificate-record.ts';
import { certificateFacts, certificateNames, tbsFacts, tbsNames } from '../../shared/x509/tbs-names.ts';
import { toPem } from '../../shared/x509/pem.ts';
import { tbsIdentity } from '../../shared/ct/tbs-identity.ts';


export interface PollDeps {
  clock: Clock;
  ct: CtStateStore;
  certificates: CertificateStore;
  publisher: EventPublisher;
  logReader(state: CtLogState): LogReader;
  /** Entries asked for per get-entries call, and get-entries calls in flight at once. */
  batchSize: number;
  concurrency?: number;
  /** Entries read and verified in one pass at most (logs that serve consistency proofs only). */
  maxEntries?: number;
  /** Issuers (DNs) expected for names under a domain: an unknown certificate from one of them is medium severity, else high. */
  allowedIssuers?: Record<string, string[]>;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

/**
 * Entries from..to-1, fetched in batches with up to `concurrency` requests in flight, in order.
 * A log may answer with fewer entries than asked (its own batch limit): the rest of that batch
 * is asked for again, so nothing is skipped and nothing past the tree is requested.
 */
export async function fetchRange(reader: LogReader, from: number, to: number, batchSize: number, concurrency: number): Promise<LogEntry[]> {
  const starts: number[] = [];
  for (let at = from; at < to; at += batchSize) starts.push(at);
  const chunks: LogEntry[][] = new Array(starts.length);
  let next = 0;
  const worker = async () => {
    while (next < starts.length) {
      const k = next++;
      const end = Math.min(to, starts[k] + batchSize);
      const chunk: LogEntry[] = [];
      for (let at = starts[k]; at < end; ) {
        const entries = await reader.getEntries(at, end - 1);
        if (entries.length === 0) throw new Error(`the log returned no entries for ${at}..${end - 1}`);
        chunk.push(...entries);
        at += entries.length;
      }
      chunks[k] = chunk;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, starts.length) }, worker));
  return chunks.flat();
}

export interface PollResult {
  logUrl: string;
  from: number;
  to: number;
  observed: number;
  unauthorized: number;
  /** Verified entries whose certificate could not be read (malformed DER). */
  unreadable?: number;
  /** Entries the signed head covers that this pass left for the next. */
  behind?: number;
  /** The log served a head older than the verified one (a caching front end); its size. */
  staleHead?: number;
  misbehaviour?: string;
}

function misbehaviour(state: CtLogState, treeSize: number, reason: string, deps: PollDeps, index?: number): BusEvent {
  const id = `misbehaviour:${state.logUrl}:${treeSize}:${index ?? reason.slice(0, 40)}`;
  return newEvent('ct.log_misbehaviour', { logUrl: state.logUrl, treeSize, reason, ...(index !== undefined ? { index } : {}) }, { now: () => deps.clock.now(), newId: () => id });
}

/**
 * A monitor that starts at an entry (the log's end, or any index) rebuilds the tree before it from
 * the previous leaf's audit path, checked against the signed root it was just given.
 */
async function treeBefore(reader: LogReader, state: CtLogState, sth: { treeSize: number; rootHash: Buffer }): Promise<CollapsedTree | undefined> {
  if (reader.tileHashes) return checked(await treeFromTiles(reader.tileHashes.bind(reader), state.position), state);
  if (!reader.getProofByHash) return undefined;
  const index = state.position - 1;
  const [last] = await reader.getEntries(index, index);
  if (!last) return undefined;
  const hash = leafHash(last.leafInput);
  const proof = await reader.getProofByHash(hash, sth.treeSize).catch(() => undefined);
  if (!proof || proof.leafIndex !== index || !verifyInclusion(hash, index, sth.treeSize, proof.auditPath, sth.rootHash)) return undefined;
  return checked(CollapsedTree.fromInclusionPath(index, sth.treeSize, hash, proof.auditPath), state);
}

/** The rebuilt tree if it has the root last verified (a later start has none: the first poll's root check covers it). */
function checked(tree: CollapsedTree, state: CtLogState): CollapsedTree | undefined {
  return !state.rootHash || tree.root().equals(Buffer.from(state.rootHash, 'base64')) ? tree : undefined;
}

/**
 * The collapsed tree of the first `size` entries from a static log's hash tiles: each perfect
 * subtree of 2^k entries is the Merkle tree over 2^(k mod 8) hashes of tile level floor(k / 8).
 */
async function treeFromTiles(tileHashes: NonNullable<LogReader['tileHashes']>, size: number): Promise<CollapsedTree> {
  const hashes: Buffer[] = [];
  let offset = 0;
  for (let k = Math.floor(Math.log2(size)); k >= 0; k--) {
    if (Math.floor(size / 2 ** k) % 2 === 0) continue;
    const level = Math.floor(k / 8);
    const first = offset / 256 ** level;
    hashes.push(treeHash(await tileHashes(level, first, first + 2 ** (k % 8) - 1)));
    offset += 2 ** k;
  }
  return new CollapsedTree(size, hashes);
}

/**
 * The first fetched entry that is not what the log's signed tree holds: by its hash tiles where
 * it has them, else the first entry the log cannot prove is included.
 */
async function offendingEntry(reader: LogReader, leaves: Buffer[], from: number, treeSize: number, root: Buffer): Promise<number | undefined> {
  if (reader.tileHashes) {
    const told = await reader.tileHashes(0, from, from + leaves.length - 1);
    const i = leaves.findIndex((l, k) => !told[k] || !leafHash(l).equals(told[k]));
    return i < 0 ? undefined : from + i;
  }
  if (!reader.getProofByHash) return undefined;
  for (let i = 0; i < leaves.length; i++) {
    try {
      const proof = await reader.getProofByHash(leafHash(leaves[i]), treeSize);
      if (proof.leafIndex !== from + i || !verifyInclusion(leafHash(leaves[i]), from + i, treeSize, proof.auditPath, root)) return from + i;
    } catch {
      return from + i;
    }
  }
  return undefined;
}

/**
 * Reads a log from its verified position to its current signed tree head and reports entries on
 * watched names, but only after everything read is verified: the tree head's signature, its
 * consistency with the last verified one, and the Merkle root recomputed over the entries. On any
 * mismatch it emits ct.log_misbehaviour (naming the entry where it can) and keeps the verified
 * position where it was. Event ids derive from log and index, so a poll repeated after a crash
 * re-sends the same ids; the position is saved only if no other poller moved it meanwhile.
 */
export async function pollLog(state: CtLogState, deps: PollDeps): Promise<PollResult> {
  const reader = deps.logReader(state);
  const result: PollResult = { logUrl: state.logUrl, from: state.position, to: state.position, observed: 0, unauthorized: 0 };
  const fail = async (treeSize: number, reason: string, index?: number) => {
    await deps.publisher.publish([misbehaviour(state, treeSize, reason, deps, index)]);
    return { ...result, misbehaviour: reason };
  };
  const sth = parseSth(await reader.getSth());
  if (!sth) return fail(state.treeSize, 'get-sth answered a malformed tree head');
  if (!state.key || !sthSignatureValid(sth, state.key)) return fail(sth.treeSize, `the tree head of size ${sth.treeSize} does not verify with the log's key`);
  if (sth.treeSize < state.treeSize) {
    // An older head than the one verified is what a caching front end serves: evidence against the
    // log only if it is inconsistent with the verified tree (RFC 6962 5.3). Where the log offers no
    // proof between the two, nothing says it is: the verified state is kept either way.
    if (state.rootHash && reader.getConsistency) {
      const proof = await reader.getConsistency(sth.treeSize, state.treeSize).catch(() => undefined);
      if (proof && !verifyConsistency(sth.treeSize, state.treeSize, sth.rootHash, Buffer.from(state.rootHash, 'base64'), proof)) {
        return fail(sth.treeSize, `the tree head of size ${sth.treeSize} is not consistent with the verified one of size ${state.treeSize}`);
      }
    }
    return { ...result, staleHead: sth.treeSize };
  }
  if (sth.treeSize === state.treeSize) {
    if (state.rootHash && !sth.rootHash.equals(Buffer.from(state.rootHash, 'base64'))) return fail(sth.treeSize, `two tree heads of size ${sth.treeSize} have different roots`);
    return result;
  }
  if (state.treeSize > 0 && state.rootHash && reader.getConsistency) {
    const proof = await reader.getConsistency(state.treeSize, sth.treeSize);
    if (!verifyConsistency(state.treeSize, sth.treeSize, Buffer.from(state.rootHash, 'base64'), sth.rootHash, proof)) {
      return fail(sth.treeSize, `the tree head of size ${sth.treeSize} is not consistent with the verified one of size ${state.treeSize}`);
    }
  }
  const tree = state.tree || state.position === 0 ? CollapsedTree.fromJSON(state.tree) : await treeBefore(reader, state, sth);
  if (!tree) return fail(sth.treeSize, `could not rebuild the tree of size ${state.position} from the log's audit path`);
  // A long backlog is read a part at a time, each part proved consistent with the signed head.
  const to = deps.maxEntries && reader.getConsistency ? Math.min(sth.treeSize, state.position + deps.maxEntries) : sth.treeSize;
  let entries: LogEntry[];
  try {
    entries = await fetchRange(reader, state.position, to, deps.batchSize, deps.concurrency ?? 4);
  } catch (err) {
    // A log that answers with nothing for entries its tree head covers is misbehaving; a network fault is not.
    if ((err as Error).message.startsWith('the log returned no entries')) return fail(sth.treeSize, (err as Error).message);
    throw err;
  }
  const leaves = entries.map((e) => Buffer.from(e.leafInput));
  for (const leaf of leaves) tree.append(leafHash(leaf));
  if (tree.size !== to) return fail(sth.treeSize, `the log served ${tree.size - state.position} of the ${to - state.position} entries its tree head covers`);
  if (to < sth.treeSize ? !verifyConsistency(to, sth.treeSize, tree.root(), sth.rootHash, await reader.getConsistency!(to, sth.treeSize)) : !tree.root().equals(sth.rootHash)) {
    const index = await offendingEntry(reader, leaves, state.position, sth.treeSize, sth.rootHash);
    return fail(sth.treeSize, `the Merkle root over the entries does not match the signed tree head of size ${sth.treeSize}${index !== undefined ? `; entry ${index} is not in it` : ''}`, index);
  }
  // Verified: only now may findings from these entries leave the monitor.
  const watchlist = (await deps.ct.getWatchlist()).map((d) => parseWatchEntry(d));
  const events: BusEvent[] = [];
  const findings = new Map<string, CtFinding>();
  for (const [i, entry] of entries.entries()) {
    let seen: Awaited<ReturnType<typeof observation>>;
    try {
      seen = await observation(state.logUrl, state.position + i, entry, watchlist, deps, reader);
    } catch (err) {
      // Logs hold malformed certificates too: one must not stop the monitor, and it is counted.
      if (!(err instanceof ValidationError || err instanceof RangeError)) throw err;
      result.unreadable = (result.unreadable ?? 0) + 1;
      continue;
    }
    if (!seen) continue;
    if (seen.finding) {
      // A precertificate and its final certificate share one finding, and one alert.
      if (findings.has(seen.finding.id)) continue;
      findings.set(seen.finding.id, seen.finding);
      result.unauthorized++;
    } else {
      result.observed++;
    }
    events.push(seen.event);
  }
  // Alerts go out before the findings are stored: a crash in between re-sends them (same ids), never loses them.
  deps.crashPoint?.('ct:after-fetch');
  await deps.publisher.publish(events);
  deps.crashPoint?.('ct:after-alerts');
  for (const finding of findings.values()) await deps.ct.putFinding(finding);
  await deps.ct.saveLog({ ...state, position: to, treeSize: to, rootHash: tree.root().toString('base64'), tree: tree.toJSON(), updatedAt: deps.clock.now().toISOString() }, state.position);
  return { ...result, to, behind: sth.treeSize - to };
}

/**
 * An entry on a watched name: observed when certops knows the certificate (it is in the inventory,
 * or a finding for it was authorized), unauthorized otherwise. A precertificate and its final
 * certificate are one finding: precertificates are keyed by the hash of their TBS.
 */
async function observation(logUrl: string, index: number, entry: LogEntry, watchlist: WatchEntry[], deps: PollDeps, reader: LogReader): Promise<{ event: BusEvent; finding?: CtFinding } | undefined> {
  const leaf = parseLeaf(entry.leafInput);
  const names = leaf.entryType === 'x509' ? certificateNames(leaf.der) : tbsNames(leaf.der);
  if (!names.some((n) => watched(n, watchlist))) return undefined;
  const fingerprint = fingerprintSha256(leaf.der);
  const findingId = tbsIdentity(leaf.der, leaf.entryType === 'x509');
  const facts = leaf.entryType === 'x509' ? certificateFacts(leaf.der) : tbsFacts(leaf.der);
  const { issuer, serialNumber } = facts;
  const knownId = await knownCertificateId(findingId, issuer, serialNumber, deps.certificates);
  const finding = knownId ? undefined : await deps.ct.getFinding(findingId);
  const ctx = (type: string) => ({ now: () => deps.clock.now(), newId: () => `ct:${type}:${logUrl}:${index}` });
  const fields = { logUrl, index, names, entryType: leaf.entryType, fingerprintSha256: fingerprint };
  if (knownId || finding?.status === 'authorized') return { event: newEvent('ct.certificate_observed', { ...fields, ...(knownId ? { certificateId: knownId } : {}) }, ctx('observed')) };
  if (finding) return undefined;
  const allowed = Object.entries(deps.allowedIssuers ?? {}).filter(([domain]) => names.some((n) => watched(n, [parseWatchEntry(domain)]))).flatMap(([, issuers]) => issuers);
  const record: CtFinding = {
    id: findingId, logUrl, index, names, entryType: leaf.entryType, fingerprintSha256: fingerprint, ...facts, ...(await issuingCertificate(entry, reader)), severity: allowed.includes(issuer) ? 'medium' : 'high', status: 'open',
    firstSeen: deps.clock.now().toISOString(), ...(leaf.entryType === 'x509' ? { certificatePem: toPem(leaf.der) } : {}),
  };
  return { event: newEvent('ct.unauthorized_certificate', { ...fields, findingId, issuer, serialNumber, notAfter: facts.notAfter, severity: record.severity }, ctx('unauthorized')), finding: record };
}

/**
 * The certificate certops issued that this entry is: by TBS identity (the certificate itself, with
 * any SCTs, or its precertificate), or by issuer and serial (its CAs never reuse a serial). Only
 * what certops issued counts: a certificate that was merely imported or scanned (anyone with a
 * requester token can import one) is not known until an approver authorizes its finding.
 */
async function knownCertificateId(tbsId: string, issuer: string, serialNumber: string, certificates: CertificateStore): Promise<string | undefined> {
  const issued = async (id: string | undefined) => (id && (await certificates.get(id))?.source === 'issued' ? id : undefined);
  return (await issued(await certificates.idByTbsIdentity(tbsId))) ?? issued(await certificates.idByIssuerSerial(issuer, serialNumber));
}

/** The issuing certificate's fingerprint, where the log names one and serves a certificate that hashes to it. */
async function issuingCertificate(entry: LogEntry, reader: LogReader): Promise<Pick<CtFinding, 'issuerFingerprintSha256'>> {
  if (!entry.issuerFingerprint || !reader.getIssuer) return {};
  const der = await reader.getIssuer(entry.issuerFingerprint).catch(() => undefined);
  return der ? { issuerFingerprintSha256: fingerprintSha256(der) } : {};
}
