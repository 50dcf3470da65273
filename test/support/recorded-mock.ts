import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach } from 'vitest';
import { resourcesOf, writeRecordedCall, type RecordedCall } from '../../adapters/aws/call-recorder.ts';

type Command = { constructor: { name: string }; input: Record<string, unknown> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Stub = AwsStub<any, any, any>;

/**
 * The condition keys IAM evaluates a request with that its resource names do not give (ACM's
 * tags on import, Private CA's template, Route 53's record names and types), as the service
 * authorization reference lists them for the action.
 */
function conditionKeys(action: string, input: Record<string, unknown>): Record<string, string | string[]> | undefined {
  if (action === 'acm:ImportCertificate') {
    const tags = (input.Tags ?? []) as { Key: string; Value: string }[];
    // A re-import names the certificate, which the adapter replaces only when it carries certops' tag.
    if (input.CertificateArn) return { 'aws:ResourceTag/certops:managed': 'true' };
    return { ...Object.fromEntries(tags.map((t) => [`aws:RequestTag/${t.Key}`, t.Value])), 'aws:TagKeys': tags.map((t) => t.Key) };
  }
  if (action === 'acm-pca:IssueCertificate') return { 'acm-pca:TemplateArn': String(input.TemplateArn) };
  if (action === 'route53:ChangeResourceRecordSets') {
    const sets = (input.ChangeBatch as { Changes: { ResourceRecordSet: { Name: string; Type: string } }[] }).Changes.map((c) => c.ResourceRecordSet);
    return {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...new Set(sets.map((s) => s.Name.toLowerCase().replace(/\.$/, '')))],
      'route53:ChangeResourceRecordSetsRecordTypes': [...new Set(sets.map((s) => s.Type))],
    };
  }
  return undefined;
}

const live = new Set<{ stub: Stub; service: string; functions: string[] }>();

function flush(mocked: { stub: Stub; service: string; functions: string[] }): void {
  const folder = process.env.CERTOPS_RECORD_AWS_CALLS;
  if (!folder) return;
  for (const call of mocked.stub.calls()) {
    const command = call.args[0] as Command;
    const action = `${mocked.service}:${command.constructor.name.replace(/Command$/, '')}`;
    const context = conditionKeys(action, command.input);
    // Tags given on import are authorized as acm:AddTagsToCertificate too (tag-on-create).
    const actions = action === 'acm:ImportCertificate' && command.input.Tags ? [action, 'acm:AddTagsToCertificate'] : [action];
    for (const resources of resourcesOf(command.input)) {
      for (const fn of mocked.functions) for (const a of actions) writeRecordedCall(folder, { function: fn, action: a, resources, ...(context ? { context } : {}) } satisfies RecordedCall);
    }
  }
}

afterEach(() => live.forEach(flush));
afterAll(() => live.forEach(flush));

/**
 * `mockClient(client)` whose answered calls are recorded as calls of `functions` (the
 * serverless.yml functions whose code makes them) for the IAM coverage test (test/iam): the
 * services only AWS has (ACM, Private CA, Route 53, SNS, SES, SQS, Secrets Manager) are never
 * called when the local stack runs end to end, so their calls come from these tests. Calls are
 * written after each test and before the stub forgets them (reset, resetHistory, restore).
 * @param service the IAM service prefix (acm, acm-pca, route53, sns, ses, sqs, secretsmanager).
 */
export function recordedMock(client: Parameters<typeof mockClient>[0], service: string, functions: string[]): Stub {
  const stub = mockClient(client) as Stub;
  // A second mock of the same client replaces this one: what this one answered is written first.
  for (const other of live) if (other.service === service) flush(other);
  const mocked = { stub, service, functions };
  live.add(mocked);
  for (const method of ['reset', 'resetHistory', 'restore'] as const) {
    const original = stub[method].bind(stub);
    (stub as unknown as Record<string, () => unknown>)[method] = () => {
      flush(mocked);
      return original();
    };
  }
  return stub;
}

/** The functions that issue (and so call a CA: Private CA, ACM, an ACME CA's dns-01 in Route 53). */
export const ISSUING_FUNCTIONS = ['issuanceApi', 'issuanceEvents', 'issuanceExpirePending', 'issuanceAcme', 'renewalStep'];
/** The functions that deploy to targets (ACM imports, Secrets Manager). */
export const DEPLOYING_FUNCTIONS = ['deploymentApi', 'deploymentEvents', 'deploymentStep'];
/** The functions that send notices (SNS, SES). */
export const NOTIFYING_FUNCTIONS = ['notificationsEvents', 'notificationsDigest'];
