import { ACMClient, AccessDeniedException, RequestCertificateCommand } from '@aws-sdk/client-acm';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AcmPublicAuthority } from '../../adapters/aws/acm-public-authority.ts';
import { apiHandler } from '../../adapters/http/api-handler.ts';

/** A route whose work fails the way `fail` says, called as API Gateway would. */
async function answer(fail: () => Promise<unknown>) {
  const handler = apiHandler({
    'POST /work': { role: 'public', withoutConfiguration: true, doc: { summary: 'fails', responses: {} }, run: async () => ({ status: 200, body: await fail() }) },
  }, () => { throw new Error('not used'); });
  const result = await handler({ routeKey: 'POST /work', headers: {}, isBase64Encoded: false } as unknown as APIGatewayProxyEventV2, {} as never);
  return { status: result.statusCode, body: JSON.parse(String(result.body)) };
}

describe('what a service certops depends on refused, as the API answers it', () => {
  // The route here is this test's own, not the API's: its answers are not the API's to check against GET /openapi.json.
  beforeAll(() => void vi.stubEnv('CERTOPS_RECORD_API_ANSWERS', ''));
  afterAll(() => void vi.unstubAllEnvs());

  it('is a 502 naming the AWS error (ACM refusing, through the SDK), not an internal error', async () => {
    const acm = mockClient(ACMClient);
    acm.on(RequestCertificateCommand).rejects(new AccessDeniedException({ message: 'User is not authorized to perform: acm:RequestCertificate', $metadata: {} }));
    const ca = new AcmPublicAuthority('public', new ACMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
    const res = await answer(() => ca.issue({ csrPem: '-', spkiDer: Buffer.alloc(0), keyType: 'EC', commonName: 'a.example.com', subjectAlternativeNames: ['a.example.com'], validityDays: 30, profile: 'tls-server', idempotencyKey: 'r-1' } as never));
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: 'upstream_failed' });
    expect(res.body.error.message).toMatch(/AccessDeniedException: User is not authorized to perform: acm:RequestCertificate/);
    acm.restore();
  });

  it('is a 502 saying the service could not be reached, for a network failure on the way', async () => {
    const res = await answer(async () => { throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }); });
    expect(res).toMatchObject({ status: 502, body: { error: { code: 'upstream_failed', message: 'a service certops depends on could not be reached (ECONNREFUSED)' } } });
    // A fault of certops' own stays an internal error, its detail in the log only.
    expect(await answer(async () => { throw new TypeError('x is undefined'); })).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
  });
});
