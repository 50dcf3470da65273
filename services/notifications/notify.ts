import { StepError } from '../../shared/errors.ts';
import { NOTIFIABLE, type ChannelConfig, type Notice, type NotifiableType, type NotificationConfig } from '../../shared/notification-config.ts';
import type { CertificateStore, Clock, NotificationLedger, RequestStore } from '../../shared/ports.ts';
import { channelsFor, digestOf, noticeOf } from './notice.ts';

const dashboardUrl = (deps: Pick<NotifyDeps, 'notifications' | 'baseUrl'>) => (deps.notifications.dashboardUrl ?? deps.baseUrl).replace(/\/+$/, '');

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
  const notice = noticeOf(event.detailType as NotifiableType, detail, { cert, request }, dashboardUrl(deps));
  const { now, daily } = channelsFor(notice, deps.notifications.routes);
  // Held once per channel: a retry of this event (another channel failed) must not put it in a second digest.
  for (const name of daily) {
    if (await deps.ledger.sent(notice.eventId, `digest:${name}`)) continue;
    await deps.ledger.holdForDigest(name, notice);
    await deps.ledger.markSent(notice.eventId, `digest:${name}`, deps.clock.now());
  }
  const sent: string[] = [];
  const failed: string[] = [];
  for (const name of now) {
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

/**
 * Scheduled, daily: each channel with notices held for its digest gets them as one message (the
 * most severe first, at most DIGEST_MAX named), and they are let go once it went out. A channel
 * that fails keeps its notices for the next run and does not hold back the others.
 * @returns the channels a digest went to, with how many notices each
 * @throws StepError (step `digest`) naming the channels that failed, after trying every channel
 */
export async function sendDigests(deps: NotifyDeps): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const failed: string[] = [];
  for (const channel of deps.notifications.channels) {
    try {
      const held = await deps.ledger.heldForDigest(channel.name);
      if (!held.length) continue;
      await deps.send(channel, digestOf(held, dashboardUrl(deps), deps.clock.now().toISOString()));
      await deps.ledger.releaseDigest(channel.name, held);
      out[channel.name] = held.length;
    } catch (err) {
      failed.push(`${channel.name}: ${(err as Error).message}`);
    }
  }
  if (failed.length) throw new StepError('digest', failed.join('; '), true);
  return out;
}
