/**
 * The API's shared JSON Schemas (2020-12): OpenAPI 3.1's `components.schemas` in GET
 * /openapi.json, named by the routes' docs with `ref`. They describe what the event contract and the
 * model (shared/model.ts) promise a client: required fields are those every answer carries; other
 * fields may appear (additional properties are allowed, so a field added later breaks no client).
 */
type Schema = Record<string, unknown>;

const string = { type: 'string' };
const strings = { type: 'array', items: string };
const dateTime = { type: 'string', format: 'date-time' };
const integer = { type: 'integer' };
const object = (required: string[], properties: Record<string, Schema>, extra: Schema = {}): Schema => ({ type: 'object', required, properties, ...extra });

const ROLE = { enum: ['viewer', 'requester', 'approver', 'admin'] };
const SEVERITY = { enum: ['critical', 'high', 'medium', 'low', 'info'] };

export const COMPONENTS: Record<string, Schema> = {
  Error: object(['error'], {
    error: object(['code', 'message'], { code: string, message: string, field: { ...string, description: 'the input field (body, query, path parameter or header) that was refused' } }, { additionalProperties: false }),
  }, { description: 'every 4xx and 5xx answer: what was refused and why, and the input field when one was', additionalProperties: false }),
  Finding: object(['id', 'severity', 'message'], { id: string, severity: SEVERITY, message: string }),
  Certificate: object(
    ['id', 'subject', 'issuer', 'serialNumber', 'notBefore', 'notAfter', 'fingerprintSha256', 'subjectAlternativeNames', 'status', 'source', 'certificatePem', 'targets', 'findings'],
    {
      id: string, commonName: string, subject: string, issuer: string,
      serialNumber: { ...string, description: 'colon-separated upper-case hex; a negative serial keeps its sign' },
      notBefore: dateTime, notAfter: dateTime, fingerprintSha256: string, subjectAlternativeNames: strings,
      status: { enum: ['active', 'superseded', 'revoked', 'expired', 'discovered'] },
      source: { enum: ['issued', 'scan', 'import', 'acm'] },
      certificatePem: string, chainPem: string, targets: strings, environment: string, owner: string, keyAlgorithm: string,
      hasManagedKey: { type: 'boolean' }, renewalDueAt: dateTime,
      requestedBy: { ...string, description: 'who asked for it (certops issued it): a principal, or acme:<account> for a client of the ACME server' },
      renewalDueSource: { enum: ['ca-ari', 'default-window'], description: 'whose word renewalDueAt is: the CA\'s suggested window (ACME Renewal Information, RFC 9773) when it comes before certops\' default window, else the default window' },
      renewalInfo: object(['windowStart', 'windowEnd', 'renewAt', 'checkAfter'], { windowStart: dateTime, windowEnd: dateTime, renewAt: dateTime, checkAfter: dateTime, explanationUrl: string }),
      findings: { type: 'array', items: { $ref: '#/components/schemas/Finding' } },
    },
    { description: 'A certificate in the inventory (never its key: keyRef is not shown)', not: { required: ['keyRef'] } },
  ),
  CertificateRequest: object(['requestId', 'status', 'commonName', 'subjectAlternativeNames', 'issuer', 'requestedBy', 'reasons', 'createdAt'], {
    requestId: string, status: { enum: ['issued', 'pending_approval', 'approved', 'pending_validation', 'rejected'] }, commonName: string,
    subjectAlternativeNames: strings, profile: { enum: ['tls-server', 'tls-client'] }, validityDays: integer, issuer: string, targets: strings,
    requestedBy: string, reasons: strings, certificateId: string, createdAt: dateTime, decidedBy: string, decidedAt: dateTime, expiresAt: dateTime,
  }),
  RequestAnswer: object(['requestId', 'status', 'reasons'], {
    requestId: string, status: { enum: ['issued', 'pending_approval', 'approved', 'pending_validation', 'rejected'] }, certificateId: string, reasons: strings,
    privateKeyPem: { ...string, description: 'only when certops generated the key and returnPrivateKey was asked: shown this once' },
    validationRecords: { type: 'array', items: object(['name', 'type', 'value'], { name: string, type: string, value: string }) },
  }),
  Token: object(['tokenId', 'name', 'role', 'createdAt', 'expiresAt'], {
    tokenId: string, name: string, role: ROLE, createdAt: dateTime, createdBy: string, expiresAt: dateTime, revokedAt: dateTime, revokedBy: string, eventSources: strings,
  }, { not: { anyOf: [{ required: ['secretHash'] }, { required: ['token'] }] } }),
  Target: object(['name', 'type'], { name: string, type: { enum: ['filesystem', 'webhook', 'acm', 'secretsmanager'] }, environments: strings }),
  Scan: object(['scanId', 'status', 'targets', 'ports', 'total', 'done', 'startedAt', 'requestedBy'], {
    scanId: string, status: { enum: ['running', 'completed', 'failed'] }, targets: strings, ports: { type: 'array', items: integer, description: 'the ports tried on each target that names none; a host:port target is scanned on its own port only' },
    total: integer, done: integer, startedAt: dateTime, finishedAt: dateTime, requestedBy: string, error: string,
  }),
  ScanResult: object(['host', 'port', 'findings'], {
    host: string, port: integer, certificateId: string, subject: string, notAfter: dateTime, chain: strings, protocol: string, cipher: string,
    findings: { type: 'array', items: { $ref: '#/components/schemas/Finding' } }, error: string,
  }),
  CtLog: object(['logUrl', 'position', 'treeSize', 'updatedAt'], {
    logUrl: string, kind: { enum: ['rfc6962', 'static'] }, key: string, position: integer, treeSize: integer, paused: { type: 'boolean' },
    lastError: string, failures: integer, retryAfter: dateTime, updatedAt: dateTime,
  }),
  CtFinding: object(['id', 'logUrl', 'index', 'names', 'entryType', 'fingerprintSha256', 'severity', 'status', 'firstSeen'], {
    id: string, logUrl: string, index: integer, names: strings, entryType: { enum: ['x509', 'precert'] }, fingerprintSha256: string, issuer: string,
    serialNumber: string, notBefore: dateTime, notAfter: dateTime, severity: { enum: ['high', 'medium'] }, status: { enum: ['open', 'authorized'] }, firstSeen: dateTime,
  }),
  AuditRecord: object(['seq', 'eventId', 'detailType', 'source', 'occurredAt', 'detail', 'prevHash', 'hash'], {
    seq: integer, eventId: string, detailType: string, source: string, occurredAt: dateTime, certificateId: string, detail: { type: 'object' },
    prevHash: { type: 'string', pattern: '^[0-9a-f]{64}$' }, hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  }),
  ConfigVersion: object(['version'], { version: integer, document: { type: 'object' }, changedBy: string, approvedBy: string, changedAt: dateTime, diff: {} }),
  ConfigChange: object(['changeId', 'status', 'proposedBy', 'proposedAt'], {
    changeId: string, status: { enum: ['pending', 'approving', 'approved', 'rejected'] }, baseVersion: integer, changed: strings, diff: {},
    proposedBy: string, proposedAt: dateTime, decidedBy: string, decidedAt: dateTime, comment: string, document: { type: 'object' },
  }),
};

/** A reference to one of COMPONENTS. */
export const ref = (name: keyof typeof COMPONENTS & string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** `{ items: [...] }`, with a nextToken when `paged` (the next page's token, absent on the last). */
export const itemsOf = (item: Schema, paged = false): Schema => object(['items'], { items: { type: 'array', items: item }, ...(paged ? { nextToken: string } : {}) });

export { object, string, strings, integer, dateTime };

/** Query parameters every paged list takes. */
export const PAGING: Record<string, Schema> = {
  limit: { type: 'integer', minimum: 1, description: 'items per page (each route has its own maximum)' },
  nextToken: { type: 'string', description: 'the nextToken of the page before' },
};
