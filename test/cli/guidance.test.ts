import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { startStack, type RunningStack } from '../support/processes.ts';
import { apiCall } from '../support/api.ts';

/**
 * The CLI refuses what a command does not take, with one line naming the command's help, and
 * never acts on a command it refused: each case here did something else once (a `--dry-run`
 * that revoked for real, a `renew --dry-run` that renewed, a `revoke` without a reason).
 */
describe('a CLI that guides', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-cli-guide-'));
  let stack: RunningStack;
  let env: Record<string, string>;
  let certificateId: string;
  const status = async (id: string) => (await apiCall(stack.url, readFileSync(stack.tokenFile, 'utf8').trim(), 'GET', `/certificates/${id}`)).body.status;

  beforeAll(async () => {
    stack = await startStack(home);
    env = { CERTOPS_HOME: home };
    const issued = await cli(['request', 'guide.example.com', '--environment', 'dev', '--owner', 'team-a', '--json'], env);
    expect(issued.code, issued.stderr).toBe(0);
    certificateId = JSON.parse(issued.stdout).certificateId;
  }, 60_000);
  afterAll(() => stack?.stop());

  it('refuses an option a command does not take, and does nothing', async () => {
    const renew = await cli(['renew', certificateId, '--dry-run'], env);
    expect(renew).toMatchObject({ code: 2, stdout: '' });
    expect(renew.stderr.trim()).toBe("certops: unknown option '--dry-run' (certops renew --help lists what it takes)");
    const scan = await cli(['scan', '127.0.0.1:1', '--reason', 'keyCompromise'], env);
    expect(scan.code).toBe(2);
    expect(scan.stderr).toMatch(/^certops: unknown option '--reason'.*\(certops scan --help lists what it takes\)\n$/);
    expect(await status(certificateId)).toBe('active');
  });

  it('revokes only with a reason, and --dry-run says what it would revoke and revokes nothing', async () => {
    const bare = await cli(['revoke', certificateId], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim()).toBe("certops: required option '--reason <reason>' not specified (certops revoke --help lists what it takes)");
    const dry = await cli(['revoke', certificateId, '--reason', 'keyCompromise', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^would revoke ${certificateId} \\(keyCompromise\\): CN=guide\\.example\\.com, active; nothing was revoked`));
    expect(await status(certificateId)).toBe('active');
    // The dry run asks the API, which checks what a revocation would: a reason that is none is refused there too.
    const bogus = await cli(['revoke', certificateId, '--reason', 'bogus', '--dry-run'], env);
    expect(bogus.code).toBe(1);
    expect(bogus.stderr).toMatch(/^certops: 400 invalid_input: reason must be one of .* \(field: reason\)\n$/);
    const both = await cli(['revoke', certificateId, '--reason', 'superseded', '--issuer', 'CN=x'], env);
    expect(both.code).toBe(2);
    expect(await status(certificateId)).toBe('active');
  });

  it('gives help per command, and names a missing operand or an unknown command in one line', async () => {
    const help = await cli(['scan', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: certops scan \[options\] <targets\.\.\.>/);
    expect(help.stdout).toContain('--no-legacy-check');
    expect(help.stdout).not.toContain('--reason');
    const missing = await cli(['show'], env);
    expect(missing).toMatchObject({ code: 2, stderr: "certops: missing required argument 'id' (certops show --help lists what it takes)\n" });
    const days = await cli(['request', 'x.example.com', '--validity-days', 'abc'], env);
    expect(days).toMatchObject({ code: 2, stderr: 'certops: --validity-days is a whole number, not "abc" (certops request --help lists what it takes)\n' });
    const timeout = await cli(['renew', certificateId, '--timeout', '5'], env);
    expect(timeout).toMatchObject({ code: 2, stderr: 'certops: --timeout goes with --wait (certops renew --help lists what it takes)\n' });
    const csr = await cli(['request', 'x.example.com', '--csr', '/nonexistent/x.csr'], env);
    expect(csr).toMatchObject({ code: 2, stderr: 'certops: cannot read --csr /nonexistent/x.csr: ENOENT\n' });
    expect(await status(certificateId)).toBe('active');
    const unknown = await cli(['renwe', certificateId], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^certops: unknown command 'renwe' \(Did you mean renew\?\) \(certops --help lists what it takes\)\n$/);
  });

  it('says what to do when the suite cannot be reached or no token is given', async () => {
    const away = await cli(['list'], { CERTOPS_HOME: mkdtempSync(join(tmpdir(), 'certops-cli-none-')), PORT: '1' });
    expect(away.code).toBe(2);
    expect(away.stderr).toMatch(/^certops: cannot reach certops at http:\/\/127\.0\.0\.1:1 \(.+\): start it with npm start, or say where it runs with --endpoint URL \(or PORT=N .*\)\n$/);
    const anonymous = await cli(['list', '--endpoint', stack.url], { CERTOPS_HOME: mkdtempSync(join(tmpdir(), 'certops-cli-none-')) });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^certops: 401 unauthorized: .*; no token: set CERTOPS_TOKEN \(an admin runs certops token create\), or run where the local suite's admin token is/);
    const refused = await cli(['list', '--endpoint', stack.url], { CERTOPS_TOKEN: 'not-a-token' });
    expect(refused.stderr).toMatch(/the token was refused .*set CERTOPS_TOKEN to a valid one/);
    expect(`${away.stderr}${anonymous.stderr}${refused.stderr}`).not.toMatch(/\n\s+at /);
  });

  it('refuses a second server on the same state folder, and a port that is taken, in one line each', async () => {
    const second = await cli(['serve'], { CERTOPS_HOME: home, PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(`certops: another certops serves ${home} already (its table answers on ${join(home, 'dynamodb.sock')}): stop it first, or give this one a folder of its own with CERTOPS_HOME\n`);
    const port = new URL(stack.url).port;
    const taken = await cli(['serve'], { CERTOPS_HOME: mkdtempSync(join(tmpdir(), 'certops-cli-port-')), PORT: port });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`certops: port ${port} on 127.0.0.1 is taken by another program: start certops on a free one, e.g. PORT=${Number(port) + 1} npm start\n`);
    // The first server is unharmed.
    expect(await status(certificateId)).toBe('active');
  }, 60_000);

  it('renew --wait shows each step as it happens and ends with the successor; show names the lineage, owner and environment', async () => {
    const fresh = JSON.parse((await cli(['request', 'wait.example.com', '--environment', 'staging', '--owner', 'team-w', '--json'], env)).stdout).certificateId;
    // The history holds deployments and renewals: a certificate just issued says it has none rather than an empty heading.
    expect((await cli(['show', fresh], env)).stdout).toMatch(/^ {2}history: +- \(no deployment or renewal yet\)$/m);
    const renew = await cli(['renew', fresh, '--wait'], env);
    expect(renew.code, renew.stderr).toBe(0);
    const lines = renew.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^renewal started: renew-/);
    expect(lines[1]).toMatch(/^ {2}\S+Z {2}renewal started$/);
    expect(lines[2]).toMatch(/^ {2}\S+Z {2}issued the successor [0-9a-f]{32} \(valid to /);
    const successor = /successor ([0-9a-f]{32})/.exec(lines[2])![1];
    expect(lines.at(-2)).toMatch(new RegExp(`renewal succeeded: renewed as ${successor}$`));
    expect(lines.at(-1)).toBe(`renewed: ${fresh} is replaced by ${successor}`);
    expect(await status(fresh)).toBe('superseded');
    const shown = (await cli(['show', successor], env)).stdout;
    expect(shown).toMatch(new RegExp(`^ {2}renews: +${fresh}$`, 'm'));
    expect(shown).toMatch(/^ {2}owner: +team-w$/m);
    expect(shown).toMatch(/^ {2}environment: +staging$/m);
    expect(shown).toMatch(/^ {2}findings:/m);
    // What `revoke --key` takes is shown, and no heading ends in padding.
    expect(shown).toMatch(/^ {2}key sha256: +[0-9a-f]{64}$/m);
    expect(shown).not.toMatch(/ $/m);
    // The successor was asked for by whoever asked for what it renews.
    expect(shown).toMatch(/^ {2}request: +\S+ by \S+$/m);
    const old = (await cli(['show', fresh], env)).stdout;
    expect(old).toMatch(new RegExp(`^ {2}renewed by: +${successor}$`, 'm'));
    expect(old).toMatch(/^ {2}history:\n {4}\S+Z {2}renewal started\n/m);
  }, 60_000);

  it('lists the requests waiting for an approver; request --wait follows one until it is decided', async () => {
    const asked = await cli(['request', 'wait.corp.internal', '--wait', '--timeout', '2'], env);
    expect(asked.code).toBe(1);
    expect(asked.stdout).toMatch(/^pending_approval: request \S+\n {2}wait\.corp\.internal is outside the allowed domains/);
    expect(asked.stdout).toMatch(/\S+Z {2}request pending approval\n/);
    expect(asked.stderr).toMatch(/^certops: still waiting on request \S+ after 2 s: it goes on in the suite \(certops requests list shows where it is\)/);
    const requestId = /request (\S+)/.exec(asked.stdout)![1];
    const pending = await cli(['requests', 'list', '--pending'], env);
    expect(pending.stdout).toMatch(new RegExp(`^${requestId} {2}pending_approval +wait\\.corp\\.internal {2}by admin at \\S+, lapses \\S+\n {4}wait\\.corp\\.internal is outside`, 'm'));
    const all = JSON.parse((await cli(['requests', 'list', '--json'], env)).stdout);
    expect(all.items.map((r: { requestId: string }) => r.requestId)).toContain(requestId);
    expect(all.items.some((r: { status: string }) => r.status === 'issued')).toBe(true);
    expect(JSON.parse((await cli(['requests', 'list', '--pending', '--json'], env)).stdout).items.every((r: { status: string }) => r.status === 'pending_approval')).toBe(true);
  }, 60_000);
});
