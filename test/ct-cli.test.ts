import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogList } from '../shared/ct/log-list.ts';
import { canonicalLogUrl } from '../shared/ct/log-url.ts';
import { parseWatchEntry, watched } from '../shared/ct/watchlist.ts';
import { cli } from './support/cli.ts';
import { startTestLog, x509Leaf } from './support/ct-test-log.ts';
import { startStaticLog } from './support/static-ct-log.ts';
import { makeChain } from './support/pki.ts';
import { eventually, startStack, type RunningStack } from './support/processes.ts';

describe('watching CT from the CLI', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-ct-cli-'));
  let stack: RunningStack;
  let log: Awaited<ReturnType<typeof startTestLog>>;
  let env: Record<string, string>;
  const run = async (...args: string[]) => {
    const r = await cli([...args, '--endpoint', stack.url, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    [stack, log] = await Promise.all([startStack(home), startTestLog(5)]);
    env = { CERTOPS_HOME: home };
  });
  afterAll(async () => {
    await Promise.all([stack?.stop(), log?.close()]);
  });

  it('adds a log and a watch, polls, lists findings, and authorizing one makes it known', async () => {
    // Certificates carry A-labels; the watch is written as a person would, with U-labels and capitals.
    const rogue = (await makeChain(['vpn.xn--bcher-kva.example'])).leaf;
    log.append(x509Leaf((await makeChain(['unrelated.test'])).leaf.der, 1));
    log.append(x509Leaf(rogue.der, 2));
    expect(await run('ct', 'logs', 'add', log.url, '--key', log.key, '--start', '0')).toMatchObject({ position: 0 });
    expect((await run('ct', 'watch', 'add', '.BÜCHER.example')).domains).toEqual(['.bücher.example']);
    const polled = await run('ct', 'poll', '--once');
    expect(polled.logs[0]).toMatchObject({ from: 0, to: 2, unauthorized: 1 });
    const findings = (await run('ct', 'findings')).items;
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ names: ['vpn.xn--bcher-kva.example'], status: 'open', severity: 'high' });
    await run('ct', 'authorize', findings[0].id);
    // The API filters by status: no open finding is left, and the authorized one is listed as such.
    expect((await run('ct', 'findings', '--status', 'open')).items).toEqual([]);
    expect((await run('ct', 'findings', '--status', 'authorized', '--limit', '5')).items.map((f: { id: string }) => f.id)).toEqual([findings[0].id]);
    await eventually(async () => (await run('list', '--domain', 'vpn.xn--bcher-kva.example')).items.length === 1, 'the authorized certificate in the inventory');
    // Seen again in another entry: known now, so observed, not an alert.
    log.append(x509Leaf(rogue.der, 3));
    expect((await run('ct', 'poll', '--once')).logs[0]).toMatchObject({ to: 3, unauthorized: 0, observed: 1 });
    expect((await run('ct', 'logs', 'list')).items[0]).toMatchObject({ position: 3, treeSize: 3 });
    expect((await run('ct', 'watch', 'remove', '.bücher.example')).domains).toEqual([]);
  });

  it('starts a log at a date, and refuses a start it cannot read', async () => {
    const dated = await startTestLog();
    try {
      const der = (await makeChain(['d.other.test'])).leaf.der;
      for (let i = 0; i < 6; i++) dated.append(x509Leaf(der, Date.parse('2026-01-01T00:00:00Z') + i * 86_400_000));
      for (const [start, message] of [['yesterday', /start must be "now", an entry index or an ISO 8601 date \(field: start\)/], ['99', /start is past the log's end \(6 entries\) \(field: start\)/]] as const) {
        const r = await cli(['ct', 'logs', 'add', dated.url, '--key', dated.key, '--start', start, '--endpoint', stack.url], env);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(message);
      }
      expect(await run('ct', 'logs', 'add', dated.url, '--key', dated.key, '--start', '2026-01-03T12:00:00Z')).toMatchObject({ position: 3, treeSize: 3 });
    } finally {
      await dated.close();
    }
  });

  it('reports a log that is down with its error, and reads the other logs all the same', async () => {
    const down = await startTestLog();
    await run('ct', 'logs', 'add', down.url, '--key', down.key, '--start', '0');
    await down.close();
    const before = (await run('ct', 'logs', 'list')).items.find((l: { logUrl: string }) => l.logUrl === log.url).position;
    log.append(x509Leaf((await makeChain(['more.other.test'])).leaf.der, 4));
    const polled = (await run('ct', 'poll', '--once')).logs as { logUrl: string; to?: number; error?: string }[];
    expect(polled.find((l) => l.logUrl === down.url)?.error).toMatch(/./);
    expect(polled.find((l) => l.logUrl === log.url)).toMatchObject({ to: before + 1 });
    // The failure is kept with the log, and the log waits (a back-off) instead of being hammered; people see why.
    const listed = (await run('ct', 'logs', 'list')).items.find((l: { logUrl: string }) => l.logUrl === down.url);
    expect(listed).toMatchObject({ failures: 1, lastError: expect.stringMatching(/./) });
    expect(Date.parse(listed.retryAfter)).toBeGreaterThan(Date.now());
    const again = await cli(['ct', 'poll', '--endpoint', stack.url], env);
    expect(again.stdout).toMatch(new RegExp(`${down.url}: waiting until .* after 1 failures`));
    expect(again.stdout).not.toMatch(/undefined/);
    const dry = await cli(['ct', 'logs', 'remove', down.url, '--dry-run', '--endpoint', stack.url], env);
    expect(dry.stdout).toMatch(new RegExp(`^would stop watching ${down.url} \\(verified to \\d+ of \\d+\\); nothing was removed\n$`));
    expect((await run('ct', 'logs', 'list')).items.map((l: { logUrl: string }) => l.logUrl)).toContain(down.url);
    await run('ct', 'logs', 'remove', down.url);
  });

  it('loads every usable log of a v3 list, tiled ones too, from --start, and says which it skipped and why; pauses, resumes and removes a log; a URL with or without its trailing slash is one log', async () => {
    const [rfc, tiled] = await Promise.all([startTestLog(), startStaticLog()]);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'certops-loglist-'));
      const list = { operators: [{ name: 'Example', logs: [
        // Log lists end base URLs with a slash (RFC 6962 4: the part before /ct/v1/).
        { description: 'rfc log', url: `${rfc.url}/`, key: rfc.key, state: { usable: {} } },
        { description: 'old log', url: 'https://old.example/', key: rfc.key, state: { retired: { timestamp: '2020-01-01T00:00:00Z' } } },
      ], tiled_logs: [{ description: 'tiled log', submission_url: 'https://submit.example/', monitoring_url: tiled.url, key: tiled.key, state: { qualified: {} } }] }] };
      writeFileSync(join(dir, 'list.json'), JSON.stringify(list));
      const loaded = await run('ct', 'logs', 'load', join(dir, 'list.json'), '--start', '0');
      expect(loaded.added.map((l: any) => [l.logUrl, l.kind, l.position])).toEqual([[rfc.url, 'rfc6962', 0], [tiled.url, 'static', 0]]);
      expect(loaded.skipped).toEqual([{ description: 'old log', url: 'https://old.example/', reason: 'its state is retired' }]);
      const human = await cli(['ct', 'logs', 'load', join(dir, 'list.json'), '--endpoint', stack.url], env);
      expect(human.stdout).toMatch(/skipped old log \(https:\/\/old.example\/\): its state is retired/);
      expect(await run('ct', 'logs', 'add', rfc.url.toUpperCase().replace('HTTP', 'http'), '--key', rfc.key)).toMatchObject({ logUrl: rfc.url, position: 0 });
      expect((await run('ct', 'logs', 'list')).items.map((l: any) => l.logUrl).filter((u: string) => u.startsWith(rfc.url))).toEqual([rfc.url]);

      expect(await run('ct', 'logs', 'pause', rfc.url)).toMatchObject({ logUrl: rfc.url, paused: true });
      const polled = await run('ct', 'poll');
      expect(polled.paused).toEqual([rfc.url]);
      expect(polled.logs.map((l: any) => l.logUrl)).not.toContain(rfc.url);
      expect(await run('ct', 'logs', 'resume', rfc.url)).toMatchObject({ paused: false });
      expect((await run('ct', 'poll')).logs.map((l: any) => l.logUrl)).toContain(rfc.url);
      await run('ct', 'logs', 'remove', rfc.url);
      expect((await run('ct', 'logs', 'list')).items.map((l: any) => l.logUrl)).not.toContain(rfc.url);
      const again = await cli(['ct', 'logs', 'remove', rfc.url, '--endpoint', stack.url], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/no CT log .* is watched \(field: url\)/);
      await run('ct', 'logs', 'remove', tiled.url);
    } finally {
      await Promise.all([rfc.close(), tiled.close()]);
    }
  });

  it('refuses a log whose tree head does not verify with the key given', async () => {
    const other = await startTestLog();
    try {
      const r = await cli(['ct', 'logs', 'add', other.url, '--key', log.key, '--endpoint', stack.url], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/does not verify with key \(field: key\)/);
    } finally {
      await other.close();
    }
  });
});

describe('log lists and watchlists', () => {
  it('reads usable logs from a v3 log list', () => {
    const icarus = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/ct/icarus/log.json'), 'utf8'));
    const list = { operators: [{ name: 'Google', logs: [icarus, { ...icarus, url: 'https://retired.example/', state: { retired: { timestamp: '2020-01-01T00:00:00Z' } } }], tiled_logs: [{ description: 'tiled', monitoring_url: 'https://tiles.example/', key: icarus.key, state: { usable: {} } }] }] };
    expect(readLogList(list)).toEqual({
      logs: [
        { description: "Google 'Icarus' log", url: 'https://ct.googleapis.com/icarus/', key: icarus.key, kind: 'rfc6962' },
        { description: 'tiled', url: 'https://tiles.example/', key: icarus.key, kind: 'static' },
      ],
      skipped: [{ description: "Google 'Icarus' log", url: 'https://retired.example/', reason: 'its state is retired' }],
    });
    expect(() => readLogList({})).toThrow(/operators/);
  });

  it('keys a log by its base URL without a trailing slash (RFC 6962 4), and refuses what is not a base URL, naming the field', () => {
    expect(canonicalLogUrl('https://CT.googleapis.com/logs/us1/argon2025h1/')).toBe('https://ct.googleapis.com/logs/us1/argon2025h1');
    expect(canonicalLogUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    for (const bad of ['ftp://log.example/', 'log.example', 'https://u:p@log.example/', 'https://log.example/?x=1']) expect(() => canonicalLogUrl(bad)).toThrow(expect.objectContaining({ field: 'url' }));
  });

  it('matches names label by label from the right, with IDNA, wildcards and redacted labels', () => {
    const list = ['.example.com', 'exact.example.org', '.bücher.de'].map((d) => parseWatchEntry(d));
    expect(watched('example.com', list)).toBe(true);
    expect(watched('a.b.EXAMPLE.com', list)).toBe(true);
    expect(watched('example.com.evil.net', list)).toBe(false);
    expect(watched('notexample.com', list)).toBe(false);
    expect(watched('exact.example.org', list)).toBe(true);
    expect(watched('sub.exact.example.org', list)).toBe(false);
    expect(watched('*.example.com', list)).toBe(true);
    expect(watched('?.example.com', list)).toBe(true);
    expect(watched('shop.xn--bcher-kva.de', list)).toBe(true);
    expect(() => parseWatchEntry('not a domain!')).toThrow();
  });
});

