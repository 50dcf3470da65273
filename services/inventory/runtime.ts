import { base, compose, once, type Base } from '../../adapters/composition/base.ts';
import { scanning } from '../../adapters/composition/scanning.ts';
import { recordingCalls } from '../../adapters/aws/call-recorder.ts';
import type { AcmCertificate } from '../../adapters/aws/acm-certificates.ts';
import type { DeadLetterQueues } from '../../shared/ports.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoConfigChangeStore } from '../../adapters/dynamodb/config-change-store.ts';
import { DynamoCtStateStore } from '../../adapters/dynamodb/ct-state-store.ts';
import { DynamoLockStore } from '../../adapters/dynamodb/lock-store.ts';
import { DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { DynamoRevocationStore } from '../../adapters/dynamodb/revocation-store.ts';

/** What inventory's functions use: the inventory, scans, ACM (sync and import), configuration changes, the consumers' dead-letter queues, the requests (read). */
export const inventoryRuntime = once(() => {
  const b = base();
  return compose(compose(b, scanning(b)), {
    certificates: new DynamoCertificateStore(b.table),
    configChanges: new DynamoConfigChangeStore(b.table),
    ct: new DynamoCtStateStore(b.table),
    revocations: new DynamoRevocationStore(b.table),
    locks: new DynamoLockStore(b.table, b.clock, b.config.ownersGoneBefore),
    /** Read only: the readiness report asks of each managed certificate whether an approval covers its renewal. */
    requests: new DynamoRequestStore(b.table),
    /** The certificates ACM holds in one region (the local stack points it at nothing real: ACM syncs only run on AWS or in tests). */
    async *acmCertificates(region: string): AsyncGenerator<AcmCertificate> {
      const [{ ACMClient }, { acmCertificates }] = await Promise.all([import('@aws-sdk/client-acm'), import('../../adapters/aws/acm-certificates.ts')]);
      yield* acmCertificates(recordingCalls(new ACMClient({ region }), 'acm'));
    },
    deadLetterQueues: deadLetterQueues(b),
  });
});

/** The consumers' dead-letter queues on SQS; the client is loaded by the first admin who asks (most invocations never do). */
function deadLetterQueues(b: Base): DeadLetterQueues {
  let queues: Promise<DeadLetterQueues> | undefined;
  const load = () => (queues ??= Promise.all([import('@aws-sdk/client-sqs'), import('../../adapters/aws/sqs-dead-letter-queues.ts')])
    .then(([{ SQSClient }, { SqsDeadLetterQueues }]) => new SqsDeadLetterQueues(recordingCalls(new SQSClient(b.awsConfig), 'sqs'), `certops-${b.config.stage}-`, b.config.consumers)));
  return {
    list: async (consumer, limit) => (await load()).list(consumer, limit),
    replay: async (consumer) => (await load()).replay(consumer),
  };
}
