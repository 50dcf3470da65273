import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sendNotice } from '../../adapters/notify/channels.ts';
import { DIGEST_MAX } from '../../services/notifications/notice.ts';
import { sendDigests, type NotifyDeps } from '../../services/notifications/notify.ts';
import { parseNotifications, type ChannelConfig, type Notice } from '../../shared/notification-config.ts';

const notice = (i: number): Notice => ({ eventId: `e${i}`, eventType: 'certificate.expiring', severity: 'low', title: `t${i}`, what: 'w', action: 'a', link: `https://c/#/${i}`, occurredAt: '2026-12-01T00:00:00.000Z' });

/** An in-memory ledger holding notices per channel (the digest's only state). */
function memoryLedger(held: Record<string, Notice[]>): NotifyDeps['ledger'] {
  const sent = new Set<string>();
  return {
    sent: async (e, c) => sent.has(`${e}/${c}`),
    markSent: async (e, c) => void sent.add(`${e}/${c}`),
    holdForDigest: async (c, n) => void (held[c] ??= []).push(n),
    heldForDigest: async (c) => [...(held[c] ?? [])],
    releaseDigest: async (c, ns) => void (held[c] = (held[c] ?? []).filter((n) => !ns.includes(n))),
  };
}

describe('the daily digest', () => {
  const notifications = parseNotifications({ channels: ['first', 'second'].map((name) => ({ name, type: 'webhook', url: `https://h/${name}`, secretRef: 'env:K' })) }, (f) => f);

  it('goes out on every channel even when one fails, keeps the failed channel\'s notices for the next run, and names at most DIGEST_MAX', async () => {
    const held: Record<string, Notice[]> = { first: [notice(1)], second: Array.from({ length: DIGEST_MAX + 5 }, (_, i) => notice(100 + i)) };
    const sent: { channel: string; digest: Notice }[] = [];
    const deps: NotifyDeps = {
      notifications, baseUrl: 'https://c', certificates: { get: async () => undefined }, requests: { get: async () => undefined },
      ledger: memoryLedger(held), clock: { now: () => new Date('2026-12-02T00:00:00Z') },
      send: async (channel: ChannelConfig, digest: Notice) => {
        if (channel.name === 'first') throw new Error('receiver down');
        sent.push({ channel: channel.name, digest });
      },
    };
    await expect(sendDigests(deps)).rejects.toThrow(/^digest: first: receiver down$/);
    expect(sent.map((s) => s.channel)).toEqual(['second']);
    const lines = sent[0].digest.what.split('\n');
    expect(lines).toHaveLength(DIGEST_MAX + 1);
    expect(lines.at(-1)).toBe('- and 5 more: https://c');
    expect(held).toEqual({ first: [notice(1)], second: [] });
  });
});

describe('chat markup', () => {
  it('sends a certificate\'s names to Slack as text, not as mentions or links', async () => {
    let body = '';
    const server = createServer((req, res) => {
      req.on('data', (c) => (body += c));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const channel = parseNotifications({ channels: [{ name: 'chat', type: 'slack', urlRef: 'env:TEST_SLACK' }] }, (f) => f).channels[0];
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack`;
      await sendNotice(channel, { ...notice(1), title: '<!channel> <https://evil.example|Renew now> & more', what: 'CN=<!here>' }, async () => url, () => new Date());
      const sentBody = JSON.parse(body);
      expect(sentBody.text).toBe('&lt;!channel&gt; &lt;https://evil.example|Renew now&gt; &amp; more: https://c/#/1');
      expect(sentBody.blocks[1].text.text).toBe('CN=&lt;!here&gt;');
    } finally {
      server.close();
    }
  });
});
