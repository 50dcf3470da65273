import { lambda } from '../../adapters/lambda.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';
import { wholeBatchHandler } from '../../adapters/eventbridge/event-handler.ts';
import { siemExportRuntime } from './runtime.ts';
import { verifyChain, type AuditRecord } from '../../shared/audit-chain.ts';
import { ValidationError } from '../../shared/errors.ts';
import { asObject, optionalString, queryInteger } from '../../shared/input.ts';
import { exportEvents, flushAll } from './export-event.ts';
import { sinkHealth } from './sink-health.ts';
import { PAGING, integer, itemsOf, object, ref, string } from '../../shared/api-schemas.ts';

const rt = siemExportRuntime;
/**
 * Every certops event: into the audit trail and out to the SIEM sinks. The audit trail's writers:
 * each batch from the queue is appended in one commit of the trail's head.
 */
export const events = wholeBatchHandler(async (batch) => {
  await exportEvents(batch, rt());
});

/** Scheduled: retries and partial batches for every sink. */
export const flush = lambda(async () => flushAll(rt()));

function isoParam(query: Record<string, string>, field: string): string | undefined {
  if (!query[field]) return undefined;
  const t = Date.parse(query[field]);
  if (Number.isNaN(t)) throw new ValidationError(`${field} must be an ISO 8601 time`, field);
  return new Date(t).toISOString();
}

async function collect(iterable: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of iterable) out.push(r);
  return out;
}

export const api = apiHandler({
  'GET /events': {
    doc: {
      summary: 'The audit trail\'s records, filtered and paged',
      query: { ...PAGING, type: { ...string, description: 'an event type (detail-type)' }, certificateId: string },
      responses: { 200: itemsOf(ref('AuditRecord'), true) },
    },
    role: 'viewer',
    async run(req) {
      const filter = { certificateId: req.query.certificateId || undefined, detailType: req.query.type || undefined, from: isoParam(req.query, 'from'), to: isoParam(req.query, 'to') };
      const page = await rt().audit.list(filter, queryInteger(req.query, 'limit', 100, 1, 1000), req.query.nextToken);
      return { status: 200, body: page };
    },
  },
  'GET /audit/verify': {
    doc: {
      summary: 'Verifies the audit trail\'s hash chain from its first record to its head',
      responses: { 200: object(['valid', 'records'], { valid: { type: 'boolean' }, records: integer, problems: { type: 'array' } }) },
    },
    role: 'admin',
    async run() {
      // The head first: records appended while the walk runs come after it and are walked too.
      const head = await rt().audit.head();
      return { status: 200, body: verifyChain(await collect(rt().audit.all()), head) };
    },
  },
  'GET /siem/dead-letters': {
    doc: { summary: 'Batches a SIEM sink refused for good', responses: { 200: itemsOf({ type: 'object' }) } },
    role: 'admin',
    async run(req) {
      const letters = await rt().outbox.deadLetters(req.query.sink || undefined);
      return { status: 200, body: { items: letters.map(({ payload, ...rest }) => ({ ...rest, bytes: payload.length })) } };
    },
  },
  'GET /siem/sinks': {
    doc: { summary: 'Each SIEM sink\'s health: backing off, retrying, gave up (dead letters wait for a replay) or healthy; its outbox, its last failure, its dead letters', responses: { 200: itemsOf(object(['name'], { name: string })) } },
    role: 'admin',
    run: async () => ({ status: 200, body: { items: await sinkHealth(rt().sinks, { outbox: rt().outbox, now: rt().clock.now() }) } }),
  },
  'POST /siem/replay': {
    doc: {
      summary: 'Puts dead-lettered SIEM batches back in their outbox and delivers what is due',
      body: object([], { sink: string }),
      responses: { 200: object(['requeued', 'delivered'], { requeued: integer, delivered: {} }) },
    },
    role: 'admin',
    async run(req) {
      const sink = req.body === undefined ? undefined : optionalString(asObject(req.body), 'sink', 128);
      if (sink !== undefined && !rt().sinks.some((s) => s.name === sink)) throw new ValidationError(`no sink ${sink} (configured: ${rt().sinks.map((s) => s.name).join(', ')})`, 'sink');
      const requeued = await rt().outbox.requeueDeadLetters(sink, rt().clock.now());
      return { status: 200, body: { requeued, delivered: await flushAll(rt()) } };
    },
  },
}, rt);
