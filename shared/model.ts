import type { RenewalInfo } from './ari.ts';
import type { CertificateRecord } from './x509/certificate-record.ts';
import type { RevocationStatus } from './x509/revocation-status.ts';

export type CertificateStatus = 'active' | 'superseded' | 'revoked' | 'expired' | 'discovered';
export type CertificateSource = 'issued' | 'scan' | 'import' | 'acm';
export type Role = 'viewer' | 'requester' | 'approver' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'requester', 'approver', 'admin'];

export interface Finding {
  id: string;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  message: string;
}

/** Where a certificate was seen served, and what was wrong there (host name, chain, protocol). */
export interface Endpoint {
  host: string;
  port: number;
  lastSeen: string;
  protocol?: string;
  cipher?: string;
  findings: Finding[];
}

/** One deployment or renewal attempt on a certificate, as GET /certificates/{id} shows it. */
export interface HistoryEntry {
  kind: 'deployment' | 'renewal';
  /** The saga execution or request that made it; with kind and target it identifies the entry. */
  attempt: string;
  target?: string;
  outcome: 'started' | 'succeeded' | 'failed' | 'rolled_back';
  at: string;
  detail?: string;
  /** A rollback that had a problem (it failed, or the target's endpoint did not serve what was put back): the certificate may still be served there. */
  unverified?: boolean;
}

/** A revocation status as a scan found it, and when. */
export type CheckedRevocation = RevocationStatus & { checkedAt: string };

/** A certificate as the inventory keeps it. `keyRef` names the vault entry; the key itself never is here. */
export interface StoredCertificate extends CertificateRecord {
  certificatePem: string;
  status: CertificateStatus;
  source: CertificateSource;
  chainPem: string;
  environment?: string;
  owner?: string;
  issuerBackend?: string;
  profile?: 'tls-server' | 'tls-client';
  keyRef?: string;
  requestId?: string;
  /** Who asked for it (a principal, `acme:<account>` for the ACME server's clients), for a certificate certops issued. */
  requestedBy?: string;
  targets: string[];
  /** Every source that has reported it (the first is `source`). */
  sources?: CertificateSource[];
  acmArns?: string[];
  supersededBy?: string;
  /** Set by a renewal saga between issuing the successor and committing or aborting. */
  pendingRenewal?: { executionName: string; newCertificateId: string };
  /** The request that asks an approver to allow this certificate's renewal, when policy came to need one. */
  renewalRequestId?: string;
  /** The event id of the last certificate.expiring the sweep sent (each threshold is alerted once). */
  lastExpiryAlert?: string;
  revocationReason?: string;
  revokedAt?: string;
  /** What its CA's OCSP responder or CRL said when a scan last checked (revocationReason and revokedAt are certops' own revocations). */
  revocation?: CheckedRevocation;
  renewalOf?: string;
  /** Its CA's suggested renewal window and the moment chosen in it (ACME Renewal Information, RFC 9773). */
  renewalInfo?: RenewalInfo;
  createdAt: string;
}

export interface CertificateRequest {
  requestId: string;
  /** approved is the short step between an approver's yes and the certificate being issued. */
  status: 'issued' | 'pending_approval' | 'approved' | 'pending_validation' | 'rejected';
  commonName: string;
  subjectAlternativeNames: string[];
  profile: 'tls-server' | 'tls-client';
  validityDays: number;
  environment?: string;
  owner?: string;
  issuer: string;
  targets: string[];
  requestedBy: string;
  /** The requester's role when asking: what deployment rules may do on their behalf depends on it. */
  requestedByRole?: Role;
  reasons: string[];
  certificateId?: string;
  createdAt: string;
  /** Kept while a request waits for approval: the requester's CSR (public), or the key to generate. */
  csrPem?: string;
  keyAlgorithm?: string;
  decidedBy?: string;
  decisionComment?: string;
  decidedAt?: string;
  /** When a pending request lapses if nobody decides it. */
  expiresAt?: string;
  /** For CAs that validate domains first (ACM): where to collect the certificate, and the DNS records to create. */
  validationReference?: string;
  /** A renewal's approval: the certificate whose renewal needs an approver's yes under the policy in force (the renewal saga signs, not the request). */
  renews?: string;
  /** Who asked for the renewal a renewal's approval allows, when not the certificate's own requester (requestedBy); neither may approve it. */
  askedBy?: string;
  /**
   * A renewal's approval of a lineage an ACME account ordered: the person the account orders for
   * (its first request's askedBy), who may not approve its renewals either.
   */
  orderedFor?: string;
  validationRecords?: { name: string; type: string; value: string }[];
}

/** An API token as stored and listed: who it is, what it may do, and until when. Its secret is never here. */
export interface ApiToken {
  tokenId: string;
  /** The principal's name: unique among live tokens, the requester and approver names the audit trail shows. */
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  revokedAt?: string;
  revokedBy?: string;
  /** PutEvents sources whose certificate.requested events act as this principal (each bound to one live token). */
  eventSources: string[];
}

export interface Target {
  name: string;
  type: 'filesystem' | 'webhook' | 'acm' | 'secretsmanager';
  endpoint?: string;
  directory?: string;
  reloadCommand?: string;
  [field: string]: unknown;
}

export interface DeadLetter {
  id: string;
  rule: string;
  event: { source: string; detailType: string; detail: Record<string, unknown> };
  error: string;
  attempts: number;
  failedAt: string;
}

export interface CtLogState {
  logUrl: string;
  /** RFC 6962 (get-sth, get-entries) or the static CT API (checkpoint and tiles). */
  kind?: 'rfc6962' | 'static';
  /** The log's public key (base64 SubjectPublicKeyInfo): every tree head must verify with it. */
  key?: string;
  /** How far the log has been read and verified against a signed tree head. */
  position: number;
  /** The verified tree: its signed size and root, and the collapsed tree of everything read. */
  treeSize: number;
  rootHash?: string;
  tree?: { size: number; hashes: string[] };
  /** A paused log is not polled; its verified state is kept for when it is resumed. */
  paused?: boolean;
  /** The last poll's failure (down, slow, refusing), how many polls in a row failed, and when the next may try. */
  lastError?: string;
  failures?: number;
  retryAfter?: string;
  updatedAt: string;
}

/** A certificate on a watched name that a CT log holds and certops did not issue or know. */
export interface CtFinding {
  id: string;
  logUrl: string;
  index: number;
  names: string[];
  entryType: 'x509' | 'precert';
  fingerprintSha256: string;
  issuer?: string;
  serialNumber?: string;
  /** SHA-256 of the issuing certificate, where the log names and serves it (static-ct-api). */
  issuerFingerprintSha256?: string;
  notBefore?: string;
  notAfter?: string;
  severity: 'high' | 'medium';
  status: 'open' | 'authorized';
  firstSeen: string;
  certificatePem?: string;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

export interface Scan {
  scanId: string;
  status: 'running' | 'completed' | 'failed';
  targets: string[];
  ports: number[];
  total: number;
  done: number;
  startedAt: string;
  finishedAt?: string;
  requestedBy: string;
  /** Whether each endpoint is also probed for TLS 1.0/1.1. */
  legacyProtocols?: boolean;
  /** The caller's scan slot this scan holds (callers below admin), released when it ends. */
  slot?: string;
  /** How many chunks of at most `RuntimeConfig.scanChunkSize` endpoints the scan was split into (set when they were handed to the scan workers). */
  chunks?: number;
  counts?: { endpoints: number; certificates: number; newCertificates: number; changed: number; failures: number };
  error?: string;
}

/** What one scan worker has done with one chunk of a scan. */
export interface ScanChunk {
  chunk: number;
  /** Endpoints of the chunk handled so far (progress). */
  done: number;
  /** Set once every endpoint of the chunk has its result: what the chunk found. */
  outcome?: { certificateIds: string[]; changed: number; failures: number };
  /** Why its last run failed (it is tried again). */
  error?: string;
}

/** What one endpoint served during a scan. */
export interface ScanResult {
  host: string;
  port: number;
  serverName?: string;
  certificateId?: string;
  subject?: string;
  notAfter?: string;
  chain?: string[];
  protocol?: string;
  cipher?: string;
  legacyProtocols?: boolean;
  /** How the endpoint serves it: chain, host name, protocol, cipher. */
  findings: Finding[];
  /** What is wrong with the certificate it serves (expired, weak key, SHA-1, ...), beside the endpoint's findings. */
  certificateFindings?: Finding[];
  /** The served certificate's revocation status, asked of its issuer's OCSP responder or CRL during the scan. */
  revocation?: CheckedRevocation;
  error?: string;
}
