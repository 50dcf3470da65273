import { apiHandler } from '../../adapters/http/api-handler.ts';
import { eventHandler } from '../../adapters/eventbridge/event-handler.ts';
import { runtime } from '../../adapters/runtime.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { queryInteger } from '../../shared/input.ts';
import { certificateView } from './certificate-view.ts';
import { recordIssued, recordRenewed } from './record-certificate.ts';
import { createToken, parseTokenRequest } from './tokens.ts';

const rt = () => runtime(process.env);

export const api = apiHandler({
  'GET /health': { role: 'public', run: async () => ({ status: 200, body: { status: 'ok' } }) },
  'GET /certificates': {
    role: 'viewer',
    async run(req) {
      const limit = queryInteger(req.query, 'limit', 50, 1, 500);
      const page = await rt().certificates.list(limit, req.query.nextToken);
      return { status: 200, body: { items: page.items.map(certificateView), nextToken: page.nextToken } };
    },
  },
  'GET /certificates/{id}': {
    role: 'viewer',
    async run(req) {
      const cert = await rt().certificates.get(req.params.id);
      if (!cert) throw new NotFoundError(`no certificate ${req.params.id}`, 'id');
      const history = await rt().certificates.history(cert.id);
      return { status: 200, body: { ...certificateView(cert), history, deployments: history.filter((h) => h.kind === 'deployment') } };
    },
  },
  'POST /tokens': {
    role: 'admin',
    async run(req) {
      const { role, name } = parseTokenRequest(req.body);
      return { status: 201, body: { token: await createToken(rt().tokens, role, name), role, name } };
    },
  },
}, () => rt().tokens);

export const events = eventHandler(async (event) => {
  if (event.detailType === 'certificate.issued') await recordIssued(event.detail, rt());
  else if (event.detailType === 'renewal.succeeded') await recordRenewed(event.detail, rt());
});
