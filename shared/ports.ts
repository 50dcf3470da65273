/**
 * The interfaces services need from the outside world. Each method's comment is its promise:
 * idempotence, what a missing value returns, ordering. Adapters in adapters/ implement them.
 */
import type { Notice } from './notification-config.ts';
import type { BusEvent } from './events/envelope.ts';
import type { RevocationReason, RevokedEntry } from './x509/crl-builder.ts';
import type { SuggestedWindow } from './ari.ts';
import type { AuditEvent, AuditRecord } from './audit-chain.ts';
import type { ApiToken, CtFinding, Endpoint, HistoryEntry, Scan, ScanChunk, ScanResult, StoredCertificate, CertificateRequest, Target, DeadLetter, CtLogState, Page } from './model.ts';

export interface Clock {
  now(): Date;
}

export interface EventPublisher {
  /** Puts the events on the bus; at-least-once, so consumers dedupe on detail.eventId. Throws if any entry failed. */
  publish(events: BusEvent[]): Promise<void>;
}

export interface CertificateStore {
  /** Creates the certificate if its id is new; returns false (and changes nothing) when it already exists. */
  create(cert: StoredCertificate): Promise<boolean>;
  /** The certificate, or undefined. */
  get(id: string): Promise<StoredCertificate | undefined>;
  /** The certificates of these ids, in the order asked (undefined where none is); one batched read. */
  getMany(ids: string[]): Promise<(StoredCertificate | undefined)[]>;
  /** For each TBS identity (shared with its precertificate), in the order asked, the id of its certificate if any; one batched read. */
  idsByTbsIdentity(tbsIds: string[]): Promise<(string | undefined)[]>;
  /** For each issuer DN and serial number, in the order asked, the id of the certificate with them if any; one batched read. */
  idsByIssuerSerial(certificates: { issuer: string; serialNumber: string }[]): Promise<(string | undefined)[]>;
  /** Sets fields on an existing certificate; status changes keep the expiry index in step. */
  update(id: string, fields: Partial<StoredCertificate>): Promise<void>;
  /** Replaces the certificate's targets only while they are still `from`; false (nothing changed) when another writer changed them first. */
  replaceTargets(id: string, from: string[], to: string[]): Promise<boolean>;
  /** Sets fields only while the certificate's status is still `from`; false (nothing changed) when it is not (a revocation won). */
  transition(id: string, from: StoredCertificate['status'], fields: Partial<StoredCertificate>): Promise<boolean>;
  /**
   * Certificates matching every field of the filter, `limit` at most, resumable with nextToken.
   * Served from the index of the most selective field, so it reads about what it returns
   * (`itemsRead` says how much); unfiltered and single-field listings are newest first.
   */
  list(filter: CertificateFilter, limit: number, nextToken?: string): Promise<Page<StoredCertificate> & { itemsRead: number }>;
  /** The certificate with its history and the endpoints that serve it, in one read of its partition. */
  details(id: string): Promise<{ certificate?: StoredCertificate; history: HistoryEntry[]; endpoints: Endpoint[] }>;
  /** Records (or refreshes) an endpoint serving it; the same host:port again replaces the entry. */
  recordEndpoint(id: string, endpoint: Endpoint): Promise<void>;
  /** Records an attempt; the same (attempt, kind, target, outcome) again replaces it, so replays add nothing. */
  addHistory(id: string, entry: HistoryEntry): Promise<void>;
  /** The certificate's attempts, oldest first. */
  history(id: string): Promise<HistoryEntry[]>;
  /** Active and discovered certificates with notAfter before `before`, soonest first; reads only what it returns. */
  expiringBefore(before: Date, limit: number, nextToken?: string): Promise<Page<StoredCertificate> & { itemsRead: number }>;
}

export interface CertificateFilter {
  environment?: string;
  owner?: string;
  status?: string;
  issuer?: string;
  /** The name or any subdomain of it. */
  domain?: string;
  /** Active or discovered and expiring before this time. */
  expiringBefore?: Date;
  /**
   * The order of the listing: newest or oldest first (when certops first saw them; the default is
   * newest), or by expiry, soonest (`expiry`) or latest (`-expiry`) first, which lists only the
   * certificates in use (active or discovered). A domain filter lists by name, in no other order.
   */
  sort?: CertificateSort;
}

export const CERTIFICATE_SORTS = ['newest', 'oldest', 'expiry', '-expiry'] as const;
export type CertificateSort = (typeof CERTIFICATE_SORTS)[number];

/** A lease on a request taken as it is created (see withLease); `since` is when it was first taken. */
export interface RequestLease {
  owner: string;
  until: Date;
  since: Date;
}

export interface RequestStore {
  /** Creates the request (holding `lease` when given); false when a request with this id exists already. */
  create(request: CertificateRequest, lease?: RequestLease): Promise<boolean>;
  get(id: string): Promise<CertificateRequest | undefined>;
  update(id: string, fields: Partial<CertificateRequest>): Promise<void>;
  /**
   * Moves a request from status `from` to the fields given; false when it was no longer in `from`
   * (someone else decided). `releasing`: the lease's owner, whose lease goes in the same write
   * (false, and nothing changed, when another owner took it over).
   */
  transition(id: string, from: CertificateRequest['status'], fields: Partial<CertificateRequest>, releasing?: string): Promise<boolean>;
  /** Requests waiting for their CA to finish domain validation. */
  awaitingValidation(): Promise<CertificateRequest[]>;
  /** Requests waiting for approval that expire before `before`, oldest first. */
  pendingExpiringBefore(before: Date): Promise<CertificateRequest[]>;
  /** Binds an idempotency key to a request id; returns the claim made first (this one if this call won) and when. */
  claimIdempotencyKey(key: string, requestId: string, at: Date): Promise<{ requestId: string; claimedAt: string }>;
  /** Moves a claim from a request that was never recorded to another; false when the claim moved on meanwhile. */
  reclaimIdempotencyKey(key: string, from: string, to: string, at: Date): Promise<boolean>;
  /** Requests allowed or approved but not yet issued, recorded before `before` (issuances to finish), oldest first. */
  issuingBefore(before: Date): Promise<CertificateRequest[]>;
  /**
   * A page of requests: `pending`, those waiting for an approver, the soonest to lapse first;
   * otherwise every request, the newest first. `nextToken` continues where a page ended.
   */
  list(page: { pending: boolean; limit: number; nextToken?: string }): Promise<{ items: CertificateRequest[]; nextToken?: string }>;
}

export interface TokenStore {
  /**
   * Stores a new token with its secret's SHA-256 (never the secret). Names and event sources are
   * unique among live tokens: when a live token (at `now`) holds one already, nothing is stored
   * and the clash is returned. A token revoked or expired gives its name and sources up.
   */
  create(token: ApiToken, secretHash: string, now: Date): Promise<{ clash?: { field: 'name' | 'eventSources'; value: string; tokenId: string } }>;
  /** The token with its secret's hash, or undefined. */
  get(tokenId: string): Promise<(ApiToken & { secretHash: string }) | undefined>;
  /** Every token, newest first, without secret hashes. */
  list(): Promise<ApiToken[]>;
  /** Marks it revoked; revoking again keeps the first revocation. Undefined when there is no such token. */
  revoke(tokenId: string, revokedBy: string, at: Date): Promise<ApiToken | undefined>;
  /** The live token (at `now`) an inbound event source is bound to, or undefined. */
  byEventSource(source: string, now: Date): Promise<ApiToken | undefined>;
}

/** One difference between two configurations: the value at `path` before and after (absent: not there). */
export interface ConfigDiffEntry {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** What putting a document in force would do (PUT /config?dryRun=true): nothing recorded. */
export interface ConfigPreview {
  /** unchanged; applied at once (one admin may change it alone); or pending a second admin's approval. */
  wouldBe: 'unchanged' | 'applied' | 'pending';
  /** The version in force now (0: none recorded). */
  version: number;
  changed: string[];
  diff: ConfigDiffEntry[];
}

/** One version of the suite configuration: the document, who put it in force (and who approved it), and what changed. */
export interface ConfigRecord {
  /** 1 for the first configuration recorded, one more for each change. */
  version: number;
  hash: string;
  document: Record<string, unknown>;
  changedBy: string;
  /** The second admin, for a change that needed one (policy, issuers). */
  approvedBy?: string;
  /** The proposal it came from, when it needed approval. */
  changeId?: string;
  /** Where it came from: `api`, or the configuration file's path. */
  location: string;
  changedAt: string;
  changed: string[];
  diff: ConfigDiffEntry[];
}

export interface ConfigStore {
  /** The configuration in force, or undefined before the first. */
  latest(): Promise<ConfigRecord | undefined>;
  /** One version, or undefined. */
  version(version: number): Promise<ConfigRecord | undefined>;
  /** Versions newest first, without their documents. */
  history(limit: number, nextToken?: string): Promise<{ items: Omit<ConfigRecord, 'document'>[]; nextToken?: string }>;
  /**
   * Puts `next` in force if `previous` (undefined: none yet) is still the one in force; false when
   * another change came first. Every version stays readable (history), a crash between the two
   * writes included: the next change writes its predecessor's version again.
   */
  record(next: ConfigRecord, previous: ConfigRecord | undefined): Promise<boolean>;
  /** The hash of the document last imported from `location` (a local file), or undefined. */
  importedFrom(location: string): Promise<string | undefined>;
  markImported(location: string, hash: string): Promise<void>;
}

/** A change to the configuration waiting for a second admin (four eyes), and what became of it. */
export interface ConfigChange {
  changeId: string;
  document: Record<string, unknown>;
  hash: string;
  /** The version it was proposed against: it applies only while that one is in force. */
  baseVersion: number;
  baseHash?: string;
  changed: string[];
  diff: ConfigDiffEntry[];
  proposedBy: string;
  proposedAt: string;
  /** `approving`: an approval claimed it and is putting it in force. */
  status: 'pending' | 'approving' | 'approved' | 'rejected';
  decidedBy?: string;
  decidedAt?: string;
  comment?: string;
}

export interface ConfigChangeStore {
  /** Records a new proposal (its id is new). */
  propose(change: ConfigChange): Promise<void>;
  get(changeId: string): Promise<ConfigChange | undefined>;
  /** Proposals newest first, of one status or all. */
  list(status?: ConfigChange['status']): Promise<ConfigChange[]>;
  /** Moves a proposal on from status `from`; false when it was not in that status (nothing changed). */
  decide(changeId: string, decision: { status: 'approving' | 'approved' | 'rejected'; decidedBy: string; decidedAt: string; comment?: string }, from: ConfigChange['status']): Promise<boolean>;
}

export interface TargetStore {
  /** Creates or replaces the target of that name. */
  put(target: Target): Promise<void>;
  get(name: string): Promise<Target | undefined>;
  /** All targets, by name. */
  list(): Promise<Target[]>;
  /** Deletes the target of that name; a no-op when there is none. */
  remove(name: string): Promise<void>;
}

export interface LockStore {
  /** Takes the lock if free, expired, or already held by `owner` (so a retried step succeeds); false otherwise. */
  acquire(resource: string, owner: string, until: Date): Promise<boolean>;
  /** Releases the lock if `owner` holds it; a no-op otherwise. */
  release(resource: string, owner: string): Promise<void>;
  /** The current holder, or undefined. */
  holder(resource: string): Promise<string | undefined>;
  /** Frees every lock, whoever holds it; for a runtime that knows every holder is gone (the local stack at start). Returns how many. */
  freeAll(): Promise<number>;
}

/** One event still owed to one rule's target by the local bus. */
export interface PendingDelivery {
  rule: string;
  /** The event as the bus put it (EventBridge's shape), as JSON text. */
  eventJson: string;
  eventId: string;
  /** Tries made so far. */
  attempts: number;
  nextAttemptAt: string;
}

/** The local bus's durable ledger: what it accepted, and what it still owes each rule. */
export interface BusLedger {
  /** Records the deliveries an accepted event is owed (one per matching rule); recording them again changes nothing. */
  accept(deliveries: PendingDelivery[]): Promise<void>;
  /** Every delivery still owed, oldest first (what a restart resumes). */
  pending(): Promise<PendingDelivery[]>;
  /** A try failed: the delivery waits for its next attempt. */
  reschedule(delivery: PendingDelivery): Promise<void>;
  /** Delivered, or dead-lettered: nothing more is owed. Settling one already settled changes nothing. */
  settle(eventId: string, rule: string): Promise<void>;
}

/** An event a consumer's queue gave up on (after its maxReceiveCount receives), as its dead-letter queue holds it. */
export interface DeadLetterMessage {
  /** The queue's message id. */
  messageId: string;
  /** The EventBridge event's id, source, detail-type, time and detail. */
  eventId: string;
  source: string;
  detailType: string;
  time: string;
  detail: Record<string, unknown>;
  /** Times it was received (by the consumer, then by whoever read the dead-letter queue), as SQS counts them. */
  receiveCount: number;
}

/** The consumers' dead-letter queues (deploy/consumer-queues.js): SQS on AWS, the local bus's dead letters locally. */
export interface DeadLetterQueues {
  /** Per consumer (all, or the one named): the queue's approximate message count and up to `limit` messages read without removing them. */
  list(consumer: string | undefined, limit: number): Promise<{ consumer: string; approximateCount: number; messages: DeadLetterMessage[] }[]>;
  /** Moves each named consumer's dead letters back to its queue (SQS StartMessageMoveTask); the move runs after the call answers. */
  replay(consumer: string | undefined): Promise<{ consumer: string; approximateCount: number; taskHandle?: string }[]>;
}

export interface DeadLetterStore {
  /** Records an event no consumer could take; idempotent per (rule, eventId). */
  put(letter: DeadLetter): Promise<void>;
  /** Oldest first. */
  list(): Promise<DeadLetter[]>;
  /** Removes it; a no-op when it is already gone. */
  remove(id: string): Promise<void>;
}

export interface CtStateStore {
  /** The log's state, or undefined before the first poll. */
  getLog(logUrl: string): Promise<CtLogState | undefined>;
  /** Saves the state only if the stored position is still `expectedPosition` (undefined: none stored); false otherwise. */
  saveLog(state: CtLogState, expectedPosition: number | undefined): Promise<boolean>;
  /** Every log being watched, in no particular order. */
  listLogs(): Promise<CtLogState[]>;
  /** Pauses or resumes a log; false when no such log is watched. */
  setPaused(logUrl: string, paused: boolean): Promise<boolean>;
  /** Stops watching a log and forgets its state; false when no such log was watched. */
  removeLog(logUrl: string): Promise<boolean>;
  /** Records a failed poll: the error, one more failure in a row, and when the log may be tried again. */
  recordPollFailure(logUrl: string, error: string, retryAfter: Date): Promise<void>;
  /** The watched domains, as stored (empty when none). */
  getWatchlist(): Promise<string[]>;
  /** Records a finding once (by id); false when it existed (a later sighting, or the final certificate of a precertificate). */
  putFinding(finding: CtFinding): Promise<boolean>;
  getFinding(id: string): Promise<CtFinding | undefined>;
  /** The findings of these ids, in the order asked (undefined where none is); one batched read. */
  getFindings(ids: string[]): Promise<(CtFinding | undefined)[]>;
  /** A page of findings, newest first (those of `status` only, when given); nextToken resumes after the last one returned. */
  listFindings(page: { limit: number; nextToken?: string; status?: CtFinding['status'] }): Promise<Page<CtFinding>>;
  /** Marks a finding authorized: its certificate (or precertificate) counts as known from now on. */
  authorize(id: string): Promise<void>;
  putWatchlist(domains: string[]): Promise<void>;
}

export interface ValidationRecord {
  name: string;
  type: string;
  value: string;
}

/** A certificate, or (for CAs that validate domains first) a reference to collect it by once validated. */
export type IssueResult = { certificatePem: string; chainPem: string } | { pending: { reference: string; validationRecords: ValidationRecord[] } };

export interface CertificateAuthority {
  readonly name: string;
  /** Signs the request (already checked by the caller) for the given names; not idempotent: each call makes a new serial. */
  issue(input: SignInput): Promise<IssueResult>;
  /** For CAs that answer pending: the certificate once issued, undefined while validation is still pending. */
  complete?(reference: string): Promise<{ certificatePem: string; chainPem: string } | undefined>;
  /** The chain a trust store needs: intermediates then root, PEM. */
  chainPem(): Promise<string>;
  /**
   * Revokes a certificate it issued; revoking one already revoked changes nothing. `at`: the
   * revocation time certops records, which a CA that keeps its own CRL writes there too (so the
   * inventory and the CRL agree); other CAs take their own.
   */
  revoke(serialNumber: string, reason: RevocationReason, at?: Date): Promise<void>;
  /** A signed CRL (DER) of what it revoked, for CAs whose CRL certops publishes itself. */
  crlDer?(): Promise<Buffer>;
  /** Whether it signed something for this idempotency key (its journal), without signing anything. */
  signedFor?(idempotencyKey: string): Promise<boolean>;
  /** When the CA suggests renewing a certificate it issued (ACME Renewal Information, RFC 9773); undefined when it offers none. */
  suggestedWindow?(certificatePem: string): Promise<SuggestedWindow | undefined>;
}

export interface RevocationStore {
  /** Records a revocation by a CA; idempotent (the first record stays, but a later keyCompromise becomes its reason). */
  add(caId: string, entry: RevokedEntry): Promise<void>;
  /** Every revocation recorded for the CA, by serial. */
  list(caId: string): Promise<RevokedEntry[]>;
}

export interface SignInput {
  csrPem: string;
  /** The requester's public key (from the CSR, whose self-signature the caller verified) and its kind. */
  spkiDer: Uint8Array;
  keyType: string;
  commonName: string;
  subjectAlternativeNames: string[];
  validityDays: number;
  profile: 'tls-server' | 'tls-client';
  /** What the policy gate judges the request under (see shared/signing-policy.ts). */
  environment?: string;
  owner?: string;
  /** The request an approver decided, covering names outside the allowed domains. */
  approvedRequestId?: string;
  /**
   * The same key again gets the same certificate (or the same reference to it), never a second
   * one: an issuance retried after a crash completes what the first attempt started.
   */
  idempotencyKey?: string;
  /** The certificate this one replaces (a renewal): an ACME CA with ARI is told so in the order (RFC 9773 5). */
  replacesCertificatePem?: string;
}

/**
 * The challenge answers certops serves for the ACME CAs it orders from: http-01 by token (RFC 8555
 * 8.3), tls-alpn-01 by the DNS name validated (RFC 8737 3); the value is the key authorization.
 */
export interface AcmeChallengeAnswers {
  /**
   * Serves `keyAuthorization` under `key` (a token, or a lowercased DNS name) until `until`; false
   * (and nothing changed) while another answer is served there: one order proves a name at a time.
   */
  put(key: string, keyAuthorization: string, until: Date, now: Date): Promise<boolean>;
  /** The key authorization under `key`, while it is served. */
  get(key: string, now: Date): Promise<string | undefined>;
  /** Stops serving that answer (another one under `key` stays). */
  remove(key: string, keyAuthorization: string): Promise<void>;
}

/** What a CA signed for each idempotency key: a retried issuance is answered from here. */
export interface IssuanceJournal {
  /** What `caId` recorded for the key (a certificate PEM, or a reference to one), or undefined. */
  recall(caId: string, key: string): Promise<string | undefined>;
  /** Records it; the first record for a key stays, and is what this returns. */
  record(caId: string, key: string, value: string): Promise<string>;
}

/** Envelope encryption's data keys (AES-256), each bound to the key reference it seals. */
export interface DataKeys {
  /** A fresh data key in clear (to be zeroed after use) and wrapped (what is stored). */
  generate(ref: string): Promise<{ plaintext: Buffer; wrapped: Buffer }>;
  /** The data key of `wrapped`; throws when it was wrapped for another reference. */
  unwrap(wrapped: Buffer, ref: string): Promise<Buffer>;
}

/** A built-in CA as stored: its certificates, and where the vault keeps its keys. */
export interface AuthorityRecord {
  name: string;
  rootPem: string;
  intermediatePem: string;
  /** Vault references of the root's and the intermediate's private keys. */
  rootKeyRef: string;
  intermediateKeyRef: string;
  createdAt: string;
}

/** Where built-in CAs are kept, so that every process and execution environment signs with the same one. */
export interface AuthorityStore {
  get(name: string): Promise<AuthorityRecord | undefined>;
  /** Records the CA if none of that name exists; false when another was recorded first. */
  create(record: AuthorityRecord): Promise<boolean>;
}

/** TXT records in DNS, for ACME's dns-01 (RFC 8555 8.4): set a value at a name, and remove the name's TXT records. */
export interface DnsTxtRecords {
  /** Adds `value` to the TXT records at `name` (those already there stay). */
  put(name: string, value: string): Promise<void>;
  /** Takes out that value alone: another order's answer at the same name stays. */
  remove(name: string, value: string): Promise<void>;
}

/** http-01 answers as files a web server serves (a webroot): the key authorization under the token, then gone. */
export interface WebrootAnswers {
  put(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface KeyVault {
  /** Stores the private key encrypted under `ref`; storing the same ref again replaces it. */
  put(ref: string, privateKeyPem: string): Promise<void>;
  /** The private key in clear, for deployment only; throws NotFoundError when absent. */
  get(ref: string): Promise<string>;
  /** Forgets the key under `ref`; a no-op when there is none. */
  remove(ref: string): Promise<void>;
}

/** A saga execution as the local runner keeps it: its input, and the results of the tasks it completed. */
export interface ExecutionStore {
  /** Records a new execution as running; false when the name was used before (names are unique, as in Step Functions). */
  create(name: string, input: unknown, at: Date): Promise<boolean>;
  /** The executions still running (what a restart resumes), with their input. */
  running(): Promise<{ name: string; input: unknown }[]>;
  /** The output of a task the execution completed, by the task's key; undefined when it has not. */
  taskResult(name: string, taskKey: string): Promise<{ output: unknown } | undefined>;
  /** Records a completed task's output; recording it again replaces it. */
  saveTaskResult(name: string, taskKey: string, output: unknown): Promise<void>;
  /** The execution ended (succeeded or failed): it is no longer resumed. */
  finish(name: string, status: 'SUCCEEDED' | 'FAILED', detail: unknown, at: Date): Promise<void>;
}

export interface SagaStarter {
  /** Starts the renewal saga under `name`; a name already used starts nothing (and is not an error). */
  start(name: string, input: Record<string, unknown>): Promise<void>;
}

/** What a deployment writes: the key travels only here, from the vault to the target. */
export interface CertificateBundle {
  certificatePem: string;
  chainPem: string;
  privateKeyPem: string;
}

export interface DeploymentTarget {
  /** Installs the bundle, keeping what it replaces for rollback; installing what is already there changes nothing. */
  deploy(bundle: CertificateBundle): Promise<void>;
  /**
   * Puts `previous` back if the target still holds the certificate `expectCurrent` (PEM); true when
   * it restored something. Targets that keep their own copy (a directory) may restore that instead.
   */
  rollback(expectCurrent: string, previous: CertificateBundle): Promise<boolean>;
}


export interface ScanStore {
  /** Creates the scan; false when the id exists (a replayed request). */
  create(scan: Scan): Promise<boolean>;
  /** A page of scans, the newest first; `nextToken` continues where a page ended. */
  list(page: { limit: number; nextToken?: string }): Promise<{ items: Scan[]; nextToken?: string }>;
  /** The scans of `requestedBy` still running that started at or after `since`. */
  runningBy(requestedBy: string, since: Date): Promise<Scan[]>;
  /** Sets fields on the scan (progress, status, counts). */
  update(scanId: string, fields: Partial<Scan>): Promise<void>;
  /** Sets fields on the scan if it is still running; false when it is not (another worker finished it first). */
  finish(scanId: string, fields: Partial<Scan>): Promise<boolean>;
  /** Records what one endpoint served; the same endpoint again replaces it. */
  putResult(scanId: string, result: ScanResult): Promise<void>;
  /** The scan, or undefined. */
  get(scanId: string): Promise<Scan | undefined>;
  /** One page of the scan's results by endpoint (at most `limit`), and the token of the next page; ValidationError (nextToken) for a token not from this scan. */
  results(scanId: string, page: { limit: number; nextToken?: string }): Promise<{ items: ScanResult[]; nextToken?: string }>;
  /** Records how many endpoints of chunk `chunk` are done (progress while it runs). */
  chunkProgress(scanId: string, chunk: number, done: number): Promise<void>;
  /** Records a chunk as finished with what it found; the same chunk again replaces it. */
  finishChunk(scanId: string, chunk: ScanChunk): Promise<void>;
  /** Every chunk a worker has started or finished. */
  chunks(scanId: string): Promise<ScanChunk[]>;
  /**
   * Records that host:port serves `certificateId` now and returns what it served before
   * (undefined the first time); atomic, so two scans cannot both miss a change.
   */
  observeEndpoint(host: string, port: number, certificateId: string, at: string): Promise<string | undefined>;
}

/** Revocation data from the URLs certificates name, each fetch bounded in time and size; no redirects are followed. */
export interface RevocationFetcher {
  /** The body served at an http(s) cRLDistributionPoints URL (a DER CRL); rejects with an UpstreamError (field: the URL) saying why it could not be had. Not cached. */
  crl(url: string): Promise<Uint8Array>;
  /** POSTs a DER OCSPRequest (application/ocsp-request) to an http(s) responder URL; the DER response body, or an UpstreamError as crl() has. */
  ocsp(url: string, request: Uint8Array): Promise<Uint8Array>;
}

/** One TLS handshake for discovery: the chain the server sends (DER, leaf first), its protocol and cipher. */
export interface TlsScanner {
  (host: string, port: number, options: { serverName?: string; timeoutMs: number; legacyOnly?: boolean }): Promise<{ chain: Uint8Array[]; protocol?: string; cipher?: string }>;
}

export interface AuditFilter {
  certificateId?: string;
  detailType?: string;
  from?: string;
  to?: string;
}

/** Where the chain ends: the last committed record's sequence number and hash (0 and GENESIS when empty). */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** What the trail says of an event it holds: its place, and the time it was recorded with. */
export type RecordedEvent = Pick<AuditRecord, 'eventId' | 'seq' | 'occurredAt'>;

export interface AuditTrail {
  /** Appends the event at the end of the hash chain; an event appended before is not appended again. */
  append(event: AuditEvent): Promise<AuditRecord>;
  /** Appends the events in order (in as few commits as fit), each once; answers each event's record, in the order given. */
  appendAll(events: AuditEvent[]): Promise<AuditRecord[]>;
  /** Those of `eventIds` that the trail holds, by event id. */
  recorded(eventIds: string[]): Promise<Map<string, RecordedEvent>>;
  /** Where the chain ends now, so a verifier can tell a trail cut short from a whole one. */
  head(): Promise<AuditHead>;
  /** Records matching the filter in sequence order, `limit` at most, resumable with nextToken. */
  list(filter: AuditFilter, limit: number, nextToken?: string): Promise<Page<AuditRecord>>;
  /** Every record in sequence order, for verification and export. */
  all(): AsyncIterable<AuditRecord>;
}

/** What waits to be delivered to one SIEM sink. */
export interface OutboxEntry {
  id: string;
  payload: string;
  createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
}

/**
 * Announcements a state change will make, recorded before it (the intent), so that a process
 * killed between the change and its announcement loses none: whoever recovers them announces the
 * ones whose change is in the store and drops the rest. Kept apart per service.
 */
export interface AnnouncementLedger {
  /** Records the events (ids and times final) before the change they announce. */
  intend(service: string, events: BusEvent[]): Promise<void>;
  /** Forgets them: announced, or their change did not happen. */
  settle(service: string, events: BusEvent[]): Promise<void>;
  /** Intents recorded for events dated before `before`, oldest first, `limit` at most. */
  unsettled(service: string, before: Date, limit: number): Promise<BusEvent[]>;
}

export interface SiemOutbox {
  /** Queues formatted events for a sink; queuing the same entries again (same id and time) queues nothing more. */
  addAll(sink: string, entries: OutboxEntry[]): Promise<void>;
  /** Entries due for delivery (next attempt at or before `now`), oldest first, `limit` at most. */
  due(sink: string, now: Date, limit: number): Promise<OutboxEntry[]>;
  /** Everything queued for the sink, oldest first, `limit` at most (for batch timing). */
  peek(sink: string, limit: number): Promise<OutboxEntry[]>;
  remove(sink: string, entries: OutboxEntry[]): Promise<void>;
  /** Puts the entries back with their new attempt count and time. */
  reschedule(sink: string, entries: OutboxEntry[]): Promise<void>;
  /** Holds every delivery to the sink until `until` (a failure's backoff, or the receiver's Retry-After). */
  pause(sink: string, until: Date): Promise<void>;
  /** Until when deliveries to the sink are held, if they are. */
  pausedUntil(sink: string): Promise<Date | undefined>;
  /** Moves entries that kept failing to the sink's dead letters. */
  deadLetter(sink: string, entries: OutboxEntry[]): Promise<void>;
  /** Dead letters of one sink or all, oldest first. */
  deadLetters(sink?: string): Promise<(OutboxEntry & { sink: string })[]>;
  /** Moves dead letters back into the outbox to be tried again; returns how many. */
  requeueDeadLetters(sink: string | undefined, now: Date): Promise<number>;
}

/**
 * The calls of a log that verified polling needs. RFC 6962 logs offer proofs; static-ct-api logs
 * offer hash tiles instead (and their consistency follows from recomputing the root over the
 * entries, since the tree is rebuilt from the verified prefix).
 */
/** An entry as a log serves it: the MerkleTreeLeaf, and where the log says so, its issuer's fingerprint. */
export interface LogEntry {
  leafInput: Uint8Array;
  issuerFingerprint?: Buffer;
}

export interface LogReader {
  getSth(): Promise<Record<string, unknown>>;
  getEntries(start: number, end: number): Promise<LogEntry[]>;
  /** The issuer certificate (DER) with this SHA-256 fingerprint, checked against it (static-ct-api). */
  getIssuer?(fingerprint: Buffer): Promise<Uint8Array>;
  getConsistency?(first: number, second: number): Promise<Buffer[]>;
  getProofByHash?(hash: Buffer, treeSize: number): Promise<{ leafIndex: number; auditPath: Buffer[] }>;
  /**
   * Hashes start..end at a tile level (static-ct-api hash tiles): level 0 holds what the log says
   * each entry hashes to, level L the roots of its perfect subtrees of 256^L entries.
   */
  tileHashes?(level: number, start: number, end: number): Promise<Buffer[]>;
}

/** Which notices went out: one per event and channel, so a retried delivery sends only what failed; and what waits for a channel's daily digest. */
export interface NotificationLedger {
  sent(eventId: string, channel: string): Promise<boolean>;
  markSent(eventId: string, channel: string, at: Date): Promise<void>;
  /** Keeps a notice for the channel's next digest (the same event twice is kept once). */
  holdForDigest(channel: string, notice: Notice): Promise<void>;
  /** The notices waiting for the channel's digest, oldest first. */
  heldForDigest(channel: string): Promise<Notice[]>;
  /** Forgets these held notices (after their digest went out). */
  releaseDigest(channel: string, notices: Notice[]): Promise<void>;
}
