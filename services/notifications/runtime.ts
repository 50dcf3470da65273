import { base, compose, once } from '../../adapters/composition/base.ts';
import { recordingCalls } from '../../adapters/aws/call-recorder.ts';
import { DynamoCertificateStore } from '../../adapters/dynamodb/certificate-store.ts';
import { DynamoNotificationLedger } from '../../adapters/dynamodb/notification-ledger.ts';
import { DynamoRequestStore } from '../../adapters/dynamodb/request-store.ts';
import { sendNotice } from '../../adapters/notify/channels.ts';
import { resolveSecret } from '../../adapters/secrets.ts';
import type { ChannelConfig, Notice } from '../../shared/notification-config.ts';

/** What the notifications function uses: the inventory and requests (read), the ledger of sent notices, the channels. */
export const notificationsRuntime = once(() => {
  const b = base();
  const secret = (ref: string, field: string) => resolveSecret(ref, field, b.env(), async () => recordingCalls(new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}), 'secretsmanager'));
  return compose(b, {
    get notifications() {
      return b.suite.notifications;
    },
    baseUrl: b.config.baseUrl,
    certificates: new DynamoCertificateStore(b.table),
    requests: new DynamoRequestStore(b.table),
    ledger: new DynamoNotificationLedger(b.table),
    send: (channel: ChannelConfig, notice: Notice) => sendNotice(channel, notice, secret, () => b.clock.now()),
  });
});
