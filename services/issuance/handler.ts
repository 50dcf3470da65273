import { apiHandler } from '../../adapters/http/api-handler.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { runtime } from '../../adapters/runtime.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { parseRequestInput } from './request-input.ts';
import { requestCertificate } from './request-certificate.ts';

const rt = () => runtime(process.env);

export const api = apiHandler({
  'POST /certificates': {
    role: 'requester',
    async run(req) {
      const input = parseRequestInput(req.body, 'local');
      const answer = await requestCertificate(input, req.caller.name, req.headers['idempotency-key'] || undefined, rt());
      return { status: answer.status === 'issued' ? 201 : 202, body: answer };
    },
  },
  'GET /requests/{id}': {
    role: 'viewer',
    async run(req) {
      const request = await rt().requests.get(req.params.id);
      if (!request) throw new NotFoundError(`no request ${req.params.id}`, 'id');
      return { status: 200, body: request };
    },
  },
  'GET /ca/chain': {
    role: 'public',
    async run() {
      return { status: 200, contentType: 'application/pem-certificate-chain', body: await (await rt().authority('local')).chainPem() };
    },
  },
}, () => rt().tokens);

/** certificate.requested from another system: the source is the requester, the event id the idempotency key. */
export const events = eventHandler(async (event) => {
  const input = parseRequestInput(event.detail, 'local');
  await requestCertificate(input, event.source, String(event.detail.eventId ?? event.id), rt());
});
