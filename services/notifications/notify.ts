import { StepError } from '../../shared/errors.ts';
import { NOTIFIABLE, type ChannelConfig, type Notice, type NotifiableType, type NotificationConfig } from '../../shared/notification-config.ts';
import type { CertificateStore, Clock, NotificationLedger, RequestStore } from '../../shared/ports.ts';
import { channelsFor, noticeOf } from './notice.ts';

export interface NotifyDeps {
  notifications: NotificationConfig;
  /** The suite's own URL: the dashboard's, unless the configuration names another. */
  baseUrl: string;
  certificates: Pick<CertificateStore, 'get'>;
  requests: Pick<RequestStore, 'get'>;
  ledger: NotificationLedger;
  clock: Clock;
  send(channel: ChannelConfig, notice: Notice): Promise<void>;
}

/**
 * Tells the people the routes choose about one event, once per channel: a channel that fails is
 * tried again with the event's next delivery (its queue retries, then dead-letters it), and the
 * channels that took it are not sent it twice.
 * @returns the channels it went out on now
 * @throws StepError (step `notify`) naming every channel that failed
 */
export async function notifyEvent(event: { detailType: string; detail: Record<string, unknown> }, deps: NotifyDeps): Promise<string[]> {
  if (!(NOTIFIABLE as readonly string[]).includes(event.detailType) || deps.notifications.routes.length === 0) return [];
  const { detail } = event;
  const [cert, request] = await Promise.all([
    typeof detail.certificateId === 'string' ? deps.certificates.get(detail.certificateId) : undefined,
    typeof detail.requestId === 'string' ? deps.requests.get(detail.requestId) : undefined,
  ]);
  const dashboard = (deps.notifications.dashboardUrl ?? deps.baseUrl).replace(/\/+$/, '');
  const notice = noticeOf(event.detailType as NotifiableType, detail, { cert, request }, dashboard);
  const sent: string[] = [];
  const failed: string[] = [];
  for (const name of channelsFor(notice, deps.notifications.routes)) {
    if (await deps.ledger.sent(notice.eventId, name)) continue;
    const channel = deps.notifications.channels.find((c) => c.name === name)!;
    try {
      await deps.send(channel, notice);
      await deps.ledger.markSent(notice.eventId, name, deps.clock.now());
      sent.push(name);
    } catch (err) {
      failed.push((err as Error).message);
    }
  }
  if (failed.length) throw new StepError('notify', failed.join('; '), true);
  return sent;
}
