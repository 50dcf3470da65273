import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { FAST, apiOf, auditOf, death, siemLines, staleLock, startDoomed, tableItems } from '../support/crash.ts';
import { startTestLog, x509Leaf } from '../support/ct-test-log.ts';
import { eventually, openssl, startStack } from '../support/processes.ts';

/**
 * A CT poll killed between reading a verified batch and publishing its alerts, and between
 * publishing them and saving the log's position: after the restart every alert reaches the SIEM
 * once, and every finding is stored once.
 */
const ENTRIES = 40;
const watchedIndexes = Array.from({ length: ENTRIES }, (_, i) => i).filter((i) => i % 3 === 0);

describe.each(['ct:after-fetch', 'ct:after-alerts'])('a CT poll killed at %s', (point) => {
  it('sends every alert once after the restart, and stores every finding once', async () => {
    const log = await startTestLog(8);
    const home = mkdtempSync(join(tmpdir(), 'certops-ct-crash-'));
    try {
      for (let i = 0; i < ENTRIES; i++) {
        const cn = watchedIndexes.includes(i) ? `host-${i}.watched.test` : `host-${i}.elsewhere.test`;
        const pem = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-days', '30']);
        log.append(x509Leaf(certificateBlocks(pem, 'cert')[0], Date.now() + i));
      }
      const doomed = await startDoomed(home, point);
      const api = apiOf(doomed);
      expect((await api('PUT', '/ct/watchlist', { domains: ['.watched.test'] })).status).toBe(200);
      expect((await api('POST', '/ct/logs', { url: log.url, key: log.key, start: 0 })).status).toBe(201);
      expect(await death(doomed)).toBe('SIGKILL');

      const stack = await startStack(home, FAST);
      try {
        const alerts = () => siemLines(home).filter((l) => l.event_type === 'ct.unauthorized_certificate' && l.logUrl === log.url);
        await eventually(async () => new Set(alerts().map((a) => a.index)).size === watchedIndexes.length, `${watchedIndexes.length} alerts`, 45_000);
        const state = await eventually(async () => {
          const s = ((await apiOf(stack)('GET', '/ct/logs')).body.items as any[]).find((l) => l.logUrl === log.url);
          return s?.position === ENTRIES && s;
        }, 'the log read to its end');
        expect(state.treeSize).toBe(ENTRIES);
        expect(alerts().map((a) => a.index).sort((a, b) => a - b)).toEqual(watchedIndexes);
        const audit = await auditOf(stack);
        expect(audit.verify.code).toBe(0);
        expect(audit.records.filter((r) => r.detailType === 'ct.unauthorized_certificate')).toHaveLength(watchedIndexes.length);
      } finally {
        expect(await stack.stop()).toBe(0);
      }
      const items = await tableItems(home);
      expect(items.filter((i) => i.sk === 'FINDING')).toHaveLength(watchedIndexes.length);
      expect(items.filter((i) => staleLock(i) || i.pk === 'DELIVERY')).toEqual([]);
    } finally {
      await log.close();
    }
  });
});
