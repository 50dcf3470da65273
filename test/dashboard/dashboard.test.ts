import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, eventually, startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';
import { startTestLog, x509Leaf } from '../support/ct-test-log.ts';
import { makeChain } from '../support/pki.ts';

/** Debian's chromium (installed by .ci/run), driven by playwright-core. */
const CHROMIUM = process.env.CERTOPS_CHROMIUM ?? '/usr/bin/chromium';
/** Each page's screenshot, kept as a test artefact. */
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'dashboard');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's serious and critical violations on the page as it is now (WCAG 2 A and AA rules). */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })).violations;
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

describe('the dashboard in a real browser', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-dashboard-'));
  let stack: RunningStack;
  let log: Awaited<ReturnType<typeof startTestLog>>;
  let browser: Browser;
  let admin: string;
  let expiringId: string;
  let pendingId: string;
  const api = (method: string, path: string, body?: unknown, token = admin) => apiCall(stack.url, token, method, path, body);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [stack, log, browser] = await Promise.all([startStack(home), startTestLog(), chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })]);
    admin = readFileSync(stack.tokenFile, 'utf8').trim();
    // An inventory worth looking at: environments, owners, one certificate expiring in ten days.
    expiringId = (await api('POST', '/certificates', { commonName: 'soon.example.com', validityDays: 10, environment: 'prod', owner: 'team-payments' })).body.certificateId;
    for (const [name, environment, owner] of [['api.example.com', 'prod', 'team-payments'], ['www.example.com', 'staging', 'team-web'], ['intranet.example.org', 'dev', 'team-it']]) {
      expect((await api('POST', '/certificates', { commonName: name, environment, owner })).status).toBe(201);
    }
    pendingId = (await api('POST', '/certificates', { commonName: 'pay.corp.internal', owner: 'team-payments' })).body.requestId;
    // A certificate on a watched domain that nobody here issued, seen in a CT log.
    log.append(x509Leaf((await makeChain(['rogue.example.com'])).leaf.der, 1));
    // Watched before the log is added: an entry read before its name is watched is not looked at again.
    expect((await api('PUT', '/ct/watchlist', { domains: ['.example.com'] })).status).toBe(200);
    expect((await api('POST', '/ct/logs', { url: log.url, key: log.key, start: 0 })).status).toBe(201);
    expect((await api('POST', '/ct/poll', {})).body.logs[0]).toMatchObject({ unauthorized: 1 });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), log?.close(), stack?.stop()]);
  });

  async function logIn(token: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 }, bypassCSP: true })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(stack.url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    Object.assign(page, { errors });
    return page;
  }
  const errorsOf = (page: Page) => (page as unknown as { errors: string[] }).errors;

  it('refuses a token that is not valid, and lets a valid one in', async () => {
    // bypassCSP lets the test inject axe-core; the pages' own scripts run under the CSP either way.
    const page = await (await browser.newContext({ bypassCSP: true })).newPage();
    await page.goto(stack.url);
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not valid/);
    await page.screenshot({ path: join(SCREENSHOTS, 'login.png') });
    await page.close();
  });

  it('finds the expiring certificate on the timeline and opens it', async () => {
    const page = await logIn(admin);
    await page.getByRole('heading', { name: 'Expiry timeline, by week' }).waitFor();
    // The overview's counts are the inventory's.
    await expect.poll(() => page.getByRole('table', { name: 'Certificates in use by environment' }).innerText()).toMatch(/prod\s+2/);
    expect(await page.getByRole('table', { name: 'Certificates in use by owner' }).innerText()).toMatch(/team-payments\s+2/);
    // Ready for 47-day lifetimes: every certificate here was issued by certops, but none has a target to be deployed to.
    await expect.poll(() => page.getByRole('table', { name: 'Why certificates would need a person' }).innerText()).toMatch(/no-deployment-target\s+[1-9]/);
    await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('button', { name: /^Week 2 \(from .*\): 1 expiring$/ }).click();
    const week = page.getByRole('table', { name: /^Expiring in week 2/ });
    await week.getByRole('link', { name: 'soon.example.com' }).click();
    await page.getByRole('heading', { name: 'soon.example.com' }).waitFor();
    expect(page.url()).toBe(`${stack.url}/#/certificates/${expiringId}`);
    const facts = await page.locator('dl.facts').innerText();
    expect(facts).toMatch(/Owner\s+team-payments/);
    expect(facts).toMatch(/Environment\s+prod/);
    await page.screenshot({ path: join(SCREENSHOTS, 'certificate.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    // The list filters on the server.
    await page.getByRole('link', { name: 'Certificates', exact: true }).click();
    await page.getByLabel('Owner').fill('team-web');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Certificates, page 1' }).locator('tbody tr').count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Certificates, page 1' }).innerText()).toContain('www.example.com');
    // ...and sorts there: the expiry column puts the certificate expiring soonest first, then last.
    await page.getByLabel('Owner').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('button', { name: /^expires/ }).click();
    const firstRow = () => page.getByRole('table', { name: 'Certificates, page 1' }).locator('tbody tr').first().innerText();
    await expect.poll(firstRow).toContain('soon.example.com');
    expect(await page.getByRole('columnheader', { name: /expires/ }).getAttribute('aria-sort')).toBe('ascending');
    await page.getByRole('button', { name: /^expires/ }).click();
    await expect.poll(firstRow).not.toContain('soon.example.com');
    expect(await page.getByRole('columnheader', { name: /expires/ }).getAttribute('aria-sort')).toBe('descending');
    await page.screenshot({ path: join(SCREENSHOTS, 'certificates.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a renewal on the certificate\'s page as it runs, step by step, without a reload', async () => {
    // A target whose reload takes longer than the page's idle refresh (5 s) keeps the saga's deploy step running long enough to be seen.
    expect((await api('POST', '/targets', { name: 'slow-web', type: 'filesystem', directory: join(home, 'targets', 'slow-web'), reloadCommand: 'sleep 7' })).status).toBe(201);
    const { certificateId } = (await api('POST', '/certificates', { commonName: 'renewing.example.com', targets: ['slow-web'] })).body;
    // Deployed on issue first (the renewal waits for no one's lock then).
    await eventually(async () => (await api('GET', `/certificates/${certificateId}`)).body.deployments.some((d: { outcome: string }) => d.outcome === 'succeeded'), 'the first deployment', 20_000);
    const page = await logIn(admin);
    await page.goto(`${stack.url}/#/certificates/${certificateId}`);
    await page.getByRole('heading', { name: 'renewing.example.com' }).waitFor();
    const renew = await api('POST', `/certificates/${certificateId}/renew`, {});
    expect(renew.status, JSON.stringify(renew.body)).toBe(202);
    const renewal = page.locator('dl.facts [role="status"]');
    await expect.poll(() => renewal.innerText(), { timeout: 15_000 }).toMatch(/^running \(.+\): /);
    await page.screenshot({ path: join(SCREENSHOTS, 'renewal-running.png'), fullPage: true });
    const history = page.getByRole('table', { name: /^Everything done to it/ });
    await expect.poll(() => history.innerText(), { timeout: 30_000 }).toMatch(/renewal\s+succeeded/);
    await expect.poll(() => renewal.innerText()).not.toMatch(/^running/);
    expect(await page.locator('dl.facts').innerText()).toMatch(/Successor\s+\S+/);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('lets a second person approve a pending request, and not the one who asked', async () => {
    const asker = await logIn(admin);
    await asker.getByRole('link', { name: 'Approvals' }).click();
    const form = asker.getByRole('form', { name: `request ${pendingId}` });
    await form.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => asker.getByRole('alert').textContent()).toMatch(/^admin made request \S+/);
    await asker.close();

    const approver = (await api('POST', '/tokens', { name: 'alice', role: 'approver' })).body.token;
    const page = await logIn(approver);
    await page.getByRole('link', { name: 'Approvals' }).click();
    const request = page.getByRole('form', { name: `request ${pendingId}` });
    expect(await request.innerText()).toMatch(/pay\.corp\.internal is outside the allowed domains/);
    await page.screenshot({ path: join(SCREENSHOTS, 'approvals.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    await request.getByLabel('Comment').fill('change CHG-1234');
    await request.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(new RegExp(`${pendingId}: issued, certificate [0-9a-f]{32}`));
    expect((await api('GET', `/requests/${pendingId}`)).body).toMatchObject({ status: 'issued', decidedBy: 'alice', decisionComment: 'change CHG-1234' });
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a scan\'s endpoints as a grid, with what each serves and what is wrong there', async () => {
    const chain = await makeChain(['grid.example.com']);
    const server = createServer({ key: await chain.leaf.keyPem(), cert: chain.leaf.pem + chain.intermediate.pem });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const started = await api('POST', '/scans', { targets: [`127.0.0.1:${port}`, '127.0.0.1:1'], legacyProtocols: false });
      expect(started.status).toBe(202);
      await expect.poll(async () => (await api('GET', `/scans/${started.body.scanId}`)).body.status, { timeout: 30_000 }).toBe('completed');
      const page = await logIn(admin);
      await page.getByRole('link', { name: 'Scans' }).click();
      await page.getByRole('button', { name: started.body.scanId }).click();
      const grid = page.getByRole('list', { name: `endpoints of ${started.body.scanId}` });
      await expect.poll(() => grid.locator('li').count()).toBe(2);
      // A chain that ends at a root no one trusts: the endpoint says so.
      expect(await grid.innerText()).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}\\s+CN=grid\\.example\\.com\\s+TLSv1\\.3\\s+(incomplete-chain|untrusted-root)`));
      expect(await grid.innerText()).toMatch(/127\.0\.0\.1:1\s+connection refused/);
      await page.screenshot({ path: join(SCREENSHOTS, 'scans.png'), fullPage: true });
      expect(await accessibilityProblems(page)).toEqual([]);
      expect(errorsOf(page)).toEqual([]);
      await page.close();
    } finally {
      server.close();
    }
  }, 60_000);

  it('shows the CT finding, the audit trail and delivery', async () => {
    const page = await logIn(admin);
    await page.getByRole('link', { name: 'CT findings' }).click();
    const findings = page.getByRole('table', { name: /^Certificates for watched domains that certops did not issue/ });
    await expect.poll(() => findings.innerText()).toMatch(/rogue\.example\.com\s+high\s+open/);
    await page.screenshot({ path: join(SCREENSHOTS, 'ct-findings.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    // Authorized, it leaves the open findings (filtered by the API) and shows among the authorized ones.
    await findings.getByRole('button', { name: 'Authorize' }).click();
    await expect.poll(() => findings.innerText()).not.toContain('rogue.example.com');
    await page.getByLabel('Show').selectOption('authorized');
    await expect.poll(() => findings.innerText()).toMatch(/rogue\.example\.com\s+high\s+authorized/);
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/The hash chain is intact: \d+ records/);
    expect(await page.getByRole('table', { name: 'Audit records, page 1' }).innerText()).toContain('ct.unauthorized_certificate');
    // The trail filters by event type on the server.
    await page.getByLabel('Event type').fill('ct.unauthorized_certificate');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.getByRole('table', { name: 'Audit records, page 1' }).locator('tbody tr');
    await expect.poll(async () => (await rows.allInnerTexts()).every((r) => r.includes('ct.unauthorized_certificate')) && (await rows.count()) > 0).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'audit.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    await page.getByRole('link', { name: 'SIEM and delivery' }).click();
    await expect.poll(() => page.locator('main').innerText()).toMatch(/no dead letters/);
    expect(await page.getByRole('table', { name: "Each sink's health" }).innerText()).toMatch(/file\s+file\s+seed\s+healthy\s+0\s+0/);
    await page.screenshot({ path: join(SCREENSHOTS, 'delivery.png'), fullPage: true });
    expect(await accessibilityProblems(page)).toEqual([]);
    expect(errorsOf(page)).toEqual([]);
    await page.close();
  }, 60_000);
});
