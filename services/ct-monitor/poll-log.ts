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
  /** The reader of a log; no wait it makes for the log runs past `deadline` (epoch milliseconds). */
  logReader(state: CtLogState, limits?: { deadline?: number }): LogReader;
  /** Entries asked for per get-entries call, and get-entries calls in flight at once. */
  batchSize: number;
  concurrency?: number;
  /** Entries read and verified in one pass at most (logs that serve consistency proofs only). */
  maxEntries?: number;
  /** Issuers (DNs) expected for names under a domain: an unknown certificate from one of them is medium severity, else high. */
  allowedIssuers?: Record<string, string[]>;
  /** Told once a pass has verified its entries and the log is further ahead: the next pass's entries, from..to-1, may be fetched already (read-ahead.ts). */
  readAhead?(from: number, to: number): void;
  /** Test builds: stops the process at a named point (the crash tests' harness). */
  crashPoint?(point: string): void;
}

/**
 * Entries from..to-1, fetched in batches with up to `concurrency` requests in flight and handed to
 * `take` in index order (with the index of the first), each as soon as it and every batch before
 * it have arrived: the caller works on one batch while the next are on their way. A log may answer
 * with fewer entries than asked (its own batch limit): the rest of that batch is asked for again,
 * so nothing is skipped and nothing past the tree is requested.
 */
export async function fetchRange(reader: LogReader, from: number, to: number, batchSize: number, concurrency: number, take: (entries: LogEntry[], first: number) => void): Promise<void> {
  const starts: number[] = [];
  for (let at = from; at < to; at += batchSize) starts.push(at);
  const arrived: (LogEntry[] | undefined)[] = new Array(starts.length);
  let next = 0;
  let taken = 0;
  let failed = false;
  const worker = async () => {
    while (next < starts.length && !failed) {
      const k = next++;
      const end = Math.min(to, starts[k] + batchSize);
      const chunk: LogEntry[] = [];
      for (let at = starts[k]; at < end; ) {
        const entries = await reader.getEntries(at, end - 1);
        if (entries.length === 0) throw new Error(`the log returned no entries for ${at}..${end - 1}`);
        chunk.push(...entries);
        at += entries.length;
      }
      arrived[k] = chunk;
      for (; arrived[taken]; taken++) {
        take(arrived[taken]!, starts[taken]);
        arrived[taken] = undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, starts.length) }, () => worker().catch((err) => {
    failed = true;
    throw err;
  })));
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
async function offendingEntry(reader: LogReader, hashes: Buffer[], from: number, treeSize: number, root: Buffer): Promise<number | undefined> {
  if (reader.tileHashes) {
    const told = await reader.tileHashes(0, from, from + hashes.length - 1);
    const i = hashes.findIndex((h, k) => !told[k] || !h.equals(told[k]));
    return i < 0 ? undefined : from + i;
  }
  if (!reader.getProofByHash) return undefined;
  for (let i = 0; i < hashes.length; i++) {
    try {
      const proof = await reader.getProofByHash(hashes[i], treeSize);
      if (proof.leafIndex !== from + i || !verifyInclusion(hashes[i], from + i, treeSize, proof.auditPath, root)) return from + i;
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
  const watchlist = (await deps.ct.getWatchlist()).map((d) => parseWatchEntry(d));
  const hashes: Buffer[] = [];
  const candidates: Candidate[] = [];
  // Each batch is hashed into the tree and matched as it arrives; what matches stays here until the whole part is verified.
  const take = (entries: LogEntry[], first: number) => entries.forEach((entry, i) => {
    const hash = leafHash(entry.leafInput);
    tree.append(hash);
    hashes.push(hash);
    try {
      const candidate = watchedEntry(first + i, entry, watchlist);
      if (candidate) candidates.push(candidate);
    } catch (err) {
      // Logs hold malformed certificates too: one must not stop the monitor, and it is counted.
      if (!(err instanceof ValidationError || err instanceof RangeError)) throw err;
      result.unreadable = (result.unreadable ?? 0) + 1;
    }
  });
  try {
    await fetchRange(reader, state.position, to, deps.batchSize, deps.concurrency ?? 4, take);
  } catch (err) {
    // A log that answers with nothing for entries its tree head covers is misbehaving; a network fault is not.
    if ((err as Error).message.startsWith('the log returned no entries')) return fail(sth.treeSize, (err as Error).message);
    throw err;
  }
  if (tree.size !== to) return fail(sth.treeSize, `the log served ${tree.size - state.position} of the ${to - state.position} entries its tree head covers`);
  if (to < sth.treeSize ? !verifyConsistency(to, sth.treeSize, tree.root(), sth.rootHash, await reader.getConsistency!(to, sth.treeSize)) : !tree.root().equals(sth.rootHash)) {
    const index = await offendingEntry(reader, hashes, state.position, sth.treeSize, sth.rootHash);
    return fail(sth.treeSize, `the Merkle root over the entries does not match the signed tree head of size ${sth.treeSize}${index !== undefined ? `; entry ${index} is not in it` : ''}`, index);
  }
  // Verified and further behind: the next pass may fetch while this one publishes (if its unit goes on to make one).
  if (to < sth.treeSize) deps.readAhead?.(to, Math.min(sth.treeSize, to + deps.maxEntries!));
  // Verified: only now may findings from these entries leave the monitor.
  const events: BusEvent[] = [];
  const findings = new Map<string, CtFinding>();
  for (const seen of await observations(state.logUrl, candidates, deps, reader)) {
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
  // Each finding is written once whatever the order (putFinding keeps the first), so they go together.
  await Promise.all([...findings.values()].map((finding) => deps.ct.putFinding(finding)));
  await deps.ct.saveLog({ ...state, position: to, treeSize: to, rootHash: tree.root().toString('base64'), tree: tree.toJSON(), updatedAt: deps.clock.now().toISOString() }, state.position);
  return { ...result, to, behind: sth.treeSize - to };
}

/** An entry whose certificate (or precertificate) names a watched domain, with what it says. */
interface Candidate {
  index: number;
  entry: LogEntry;
  entryType: 'x509' | 'precert';
  names: string[];
  fingerprintSha256: string;
  /** Shared by a precertificate and its final certificate: the finding's id. */
  tbsId: string;
  facts: ReturnType<typeof tbsFacts>;
}

/** The entry as a candidate when one of its names is watched; undefined for the rest (nearly all). Throws on malformed entries. */
function watchedEntry(index: number, entry: LogEntry, watchlist: WatchEntry[]): Candidate | undefined {
  const leaf = parseLeaf(entry.leafInput);
  const x509 = leaf.entryType === 'x509';
  const names = x509 ? certificateNames(leaf.der) : tbsNames(leaf.der);
  if (!names.some((n) => watched(n, watchlist))) return undefined;
  return { index, entry, entryType: leaf.entryType, names, fingerprintSha256: fingerprintSha256(leaf.der), tbsId: tbsIdentity(leaf.der, x509), facts: x509 ? certificateFacts(leaf.der) : tbsFacts(leaf.der) };
}

/**
 * What each watched entry means, in the candidates' order: observed when certops knows the
 * certificate (it issued it, or a finding for it was authorized), unauthorized when it has no
 * finding yet, nothing when its finding is open already. A precertificate and its final
 * certificate are one finding: precertificates are keyed by the hash of their TBS. The store is
 * read once for all of them (batched reads), not entry by entry.
 */
async function observations(logUrl: string, candidates: Candidate[], deps: PollDeps, reader: LogReader): Promise<{ event: BusEvent; finding?: CtFinding }[]> {
  if (candidates.length === 0) return [];
  const tbsIds = candidates.map((c) => c.tbsId);
  const [byTbs, bySerial, stored] = await Promise.all([
    deps.certificates.idsByTbsIdentity(tbsIds), deps.certificates.idsByIssuerSerial(candidates.map((c) => c.facts)), deps.ct.getFindings(tbsIds),
  ]);
  const issued = await issuedIds([...byTbs, ...bySerial], deps.certificates);
  const out: { event: BusEvent; finding?: CtFinding }[] = [];
  for (const [i, c] of candidates.entries()) {
    const knownId = [byTbs[i], bySerial[i]].find((id) => id && issued.has(id));
    const finding = knownId ? undefined : stored[i];
    const ctx = (type: string) => ({ now: () => deps.clock.now(), newId: () => `ct:${type}:${logUrl}:${c.index}` });
    const fields = { logUrl, index: c.index, names: c.names, entryType: c.entryType, fingerprintSha256: c.fingerprintSha256 };
    if (knownId || finding?.status === 'authorized') {
      out.push({ event: newEvent('ct.certificate_observed', { ...fields, ...(knownId ? { certificateId: knownId } : {}) }, ctx('observed')) });
      continue;
    }
    if (finding) continue;
    const { issuer, serialNumber } = c.facts;
    const allowed = Object.entries(deps.allowedIssuers ?? {}).filter(([domain]) => c.names.some((n) => watched(n, [parseWatchEntry(domain)]))).flatMap(([, issuers]) => issuers);
    const record: CtFinding = {
      id: c.tbsId, ...fields, ...c.facts, ...(await issuingCertificate(c.entry, reader)), severity: allowed.includes(issuer) ? 'medium' : 'high', status: 'open',
      firstSeen: deps.clock.now().toISOString(), ...(c.entryType === 'x509' ? { certificatePem: toPem(parseLeaf(c.entry.leafInput).der) } : {}),
    };
    out.push({ event: newEvent('ct.unauthorized_certificate', { ...fields, findingId: c.tbsId, issuer, serialNumber, notAfter: c.facts.notAfter, severity: record.severity }, ctx('unauthorized')), finding: record });
  }
  return out;
}

/**
 * Of the certificates these ids point to, those certops issued. An entry is known when its TBS
 * identity (the certificate itself, with any SCTs, or its precertificate) or its issuer and serial
 * (its CAs never reuse a serial) point to one of them. Only what certops issued counts: a
 * certificate that was merely imported or scanned (anyone with a requester token can import one)
 * is not known until an approver authorizes its finding.
 */
async function issuedIds(ids: (string | undefined)[], certificates: CertificateStore): Promise<Set<string>> {
  const pointed = [...new Set(ids.filter((id): id is string => Boolean(id)))];
  if (pointed.length === 0) return new Set();
  return new Set((await certificates.getMany(pointed)).filter((c) => c?.source === 'issued').map((c) => c!.id));
}

/** The issuing certificate's fingerprint, where the log names one and serves a certificate that hashes to it. */
async function issuingCertificate(entry: LogEntry, reader: LogReader): Promise<Pick<CtFinding, 'issuerFingerprintSha256'>> {
  if (!entry.issuerFingerprint || !reader.getIssuer) return {};
  const der = await reader.getIssuer(entry.issuerFingerprint).catch(() => undefined);
  return der ? { issuerFingerprintSha256: fingerprintSha256(der) } : {};
}
