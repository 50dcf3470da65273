import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { printable } from './terminal-text.ts';
import { CliError, call, resolveEndpoint, resolveToken, type ClientOptions } from './api-client.ts';
import { CertopsError, ValidationError } from '../shared/errors.ts';
import { randomBytes } from 'node:crypto';
import { verifyPemPath } from '../shared/x509/verify-pem-chain.ts';
import type { ChainVerdict } from '../shared/x509/chain-validation.ts';
import { describeRevocation } from '../shared/x509/revocation-status.ts';
import { RevocationChecker } from '../shared/revocation/revocation-checker.ts';
import { withRevocation, type RevocationVerdict } from '../shared/revocation/revocation-verdict.ts';
import { httpRevocationFetcher } from '../adapters/revocation/http-revocation-fetcher.ts';
import { collectCertificates } from './collect-certificates.ts';
import { configCommand, type ConfigSubcommand } from './config-command.ts';
import { followRenewal, followRequest, type Step } from './wait-for.ts';
import { scanSummary, type ScannedEndpoint } from './scan-summary.ts';
import { Presets, SingleBar } from 'cli-progress';

/** The options a command was given, by their long names (`--expires-at` is `expires-at`). */
type Values = Record<string, any>;
/** The command's words (`certops ct logs add URL`: ['ct', 'logs', 'add']) and its operands ([URL]). */
let commandPath: string[] = [];
let operands: string[] = [];
let values: Values = {};
let client: ClientOptions;

function out(human: string, data: unknown) {
  process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${printable(human)}\n`);
}

/** "1 certificate", "2 certificates". */
const certificates = (n: number) => `${n} certificate${n === 1 ? '' : 's'}`;

function usage(message: string): never {
  throw new CliError(`${message} (certops ${[...commandPath, '--help'].join(' ')} lists what it takes)`, 2);
}

async function serve() {
  const { startLocalStack } = await import('../local/stack.ts');
  if (!process.env.POWERTOOLS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  const stack = await startLocalStack();
  out([
    `certops is running at ${stack.url}`,
    `  state:       ${stack.home}`,
    `  admin token: ${stack.tokenFile}${stack.firstStart ? ' (created now; keep it secret)' : ''}`,
    ...(stack.tlsAlpnResponder ? [`  tls-alpn-01: ${stack.tlsAlpnResponder} (validation responder for ACME issuers)`] : []),
    `  try:         curl ${stack.url}/health`,
    'Press Ctrl-C to stop.',
  ].join('\n'), { url: stack.url, home: stack.home, tokenFile: stack.tokenFile, firstStart: stack.firstStart, ...(stack.tlsAlpnResponder ? { tlsAlpnResponder: stack.tlsAlpnResponder } : {}) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function bootstrapCommand() {
  const [{ bootstrap }, { CloudFormationClient }, { openTable }] = await Promise.all([import('./bootstrap.ts'), import('@aws-sdk/client-cloudformation'), import('../adapters/dynamodb/table.ts')]);
  const region = values.region ? { region: values.region } : {};
  const result = await bootstrap({ stage: values.stage, configFile: values.config }, {
    cloudformation: new CloudFormationClient(region), table: (name) => openTable(name, region), fetch, clock: { now: () => new Date() },
  });
  out([
    `certops ${result.stackName} is at ${result.apiUrl}`,
    ...(result.builtInRootSha256 ? [`  built-in CA root: SHA-256 ${result.builtInRootSha256} (curl ${result.apiUrl}/ca/chain)`] : []),
    `  configuration: ${result.configuration.version ? `version ${result.configuration.version}${result.configuration.recordedNow ? ' (recorded now)' : ''}` : 'none recorded: the defaults apply (certops config set FILE)'}`,
    result.admin.token
      ? `  admin token (${result.admin.name}, expires ${result.admin.expiresAt}), shown this once:\n${result.admin.token}`
      : `  an admin token exists already (${result.admin.name}, expires ${result.admin.expiresAt}): none minted`,
  ].join('\n'), result);
}

const commands: Record<string, () => Promise<void>> = {
  serve,
  bootstrap: bootstrapCommand,
  async 'acme eab'() {
    const { body } = await call(client, 'POST', '/acme-eab');
    out(`External Account Binding for the ACME server (shown once; it binds one account, which orders on your behalf):\n  key id:   ${body.keyId}\n  HMAC key: ${body.hmacKey}\ncertbot:  --eab-kid ${body.keyId} --eab-hmac-key ${body.hmacKey}\nlego:     --eab --kid ${body.keyId} --hmac ${body.hmacKey}`, body);
  },
  async 'token list'() {
    const { body } = await call(client, 'GET', '/tokens');
    const rows = (body.items as { tokenId: string; name: string; role: string; createdBy: string; expiresAt: string; revokedAt?: string; eventSources: string[] }[])
      .map((t) => `${t.tokenId}  ${t.name.padEnd(20)} ${t.role.padEnd(9)} ${t.revokedAt ? `revoked ${t.revokedAt}` : `expires ${t.expiresAt}`}  made by ${t.createdBy}${t.eventSources.length ? `  sources ${t.eventSources.join(',')}` : ''}`);
    out(rows.join('\n') || '(no tokens)', body);
  },
  async 'token revoke'() {
    if (values['dry-run']) {
      const token = ((await call(client, 'GET', '/tokens')).body.items as { tokenId: string; name: string; role: string; revokedAt?: string }[]).find((t) => t.tokenId === operands[0]);
      if (!token) throw new CliError(`no token ${operands[0]} (certops token list shows them)`, 1);
      return out(`would revoke ${token.tokenId} (${token.name}, ${token.role}${token.revokedAt ? `, revoked already at ${token.revokedAt}` : ''}); nothing was revoked`, { dryRun: true, wouldRevoke: token });
    }
    const { body } = await call(client, 'DELETE', `/tokens/${encodeURIComponent(operands[0])}`);
    out(`revoked ${body.tokenId} (${body.name}) at ${body.revokedAt}`, body);
  },
  async 'token create'() {
    const { body } = await call(client, 'POST', '/tokens', { role: values.role, name: values.name, expiresAt: values['expires-at'], eventSources: values['event-source'] });
    out(body.token, body);
  },
  async request() {
    const names = operands;
    if (values.timeout !== undefined && !values.wait) usage('--timeout goes with --wait');
    const payload = {
      commonName: names[0],
      subjectAlternativeNames: names,
      csr: values.csr ? readInput(values.csr, '--csr') : undefined,
      keyAlgorithm: values['key-algorithm'],
      validityDays: values['validity-days'] === undefined ? undefined : wholeNumber(values['validity-days'], '--validity-days'),
      environment: values.environment,
      owner: values.owner,
      targets: values.target,
      issuer: values.issuer,
    };
    const headers: Record<string, string> = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : {};
    const { body } = await call(client, 'POST', '/certificates', payload, headers);
    const answer = `${body.status}: request ${body.requestId}${body.certificateId ? `, certificate ${body.certificateId}` : ''}${body.reasons?.length ? `\n  ${body.reasons.join('\n  ')}` : ''}`;
    if (!values.wait || body.status === 'rejected') return out(answer, body);
    if (!values.json) out(answer, body);
    const followed = await followRequest(client, body.requestId, timeoutSeconds(), printStep);
    if (values.json) out('', { ...body, ...followed });
    else out(followed.outcome === 'issued' ? `done: certificate ${followed.certificateId}` : followed.outcome === 'rejected' ? 'rejected' : `issued ${followed.certificateId}, but a deployment failed`, followed);
    if (followed.outcome !== 'issued') process.exitCode = 1;
  },
  async import() {
    const paths = operands;
    const found = collectCertificates(paths);
    if (found.unreadable.length) throw new CliError(found.unreadable.map((u) => `cannot read ${u.file}: ${u.reason}`).join('\n'), 2);
    const summary = { imported: 0, new: 0, rejected: [] as { file: string; reason: string }[], ignoredPrivateKeys: found.privateKeys, skippedFiles: found.skipped, certificates: [] as unknown[] };
    const BATCH = 200;
    for (let i = 0; i < found.certificates.length; i += BATCH) {
      const batch = found.certificates.slice(i, i + BATCH);
      const { body } = await call(client, 'POST', '/imports', { pem: batch.map((c) => c.pem).join(''), environment: values.environment, owner: values.owner });
      summary.imported += body.imported.length;
      summary.new += body.imported.filter((c: { created: boolean }) => c.created).length;
      summary.certificates.push(...body.imported);
      summary.rejected.push(...body.rejected.map((r: { block: number; reason: string }) => ({ file: batch[r.block - 1]?.file ?? '', reason: r.reason })));
    }
    out([
      `imported ${certificates(summary.imported)} (${summary.new} new) from ${paths.join(', ')}`,
      ...summary.rejected.map((r) => `  rejected ${r.file}: ${r.reason}`),
      ...(found.privateKeys ? [`  skipped ${found.privateKeys} private keys (never sent)`] : []),
      ...found.skipped.map((file) => `  skipped ${file}: DER that is not a certificate (never sent)`),
    ].join('\n'), summary);
    if (summary.imported === 0) process.exitCode = 1;
  },
  async scan() {
    const targets = operands;
    const ports = values.port?.map(Number);
    const { body: started } = await call(client, 'POST', '/scans', { targets, ...(ports ? { ports } : {}), legacyProtocols: !values['no-legacy-check'] });
    const bar = process.stderr.isTTY && !values.json ? new SingleBar({ format: '[{bar}] {value}/{total} endpoints, {eta_formatted} left', stream: process.stderr }, Presets.legacy) : undefined;
    bar?.start(started.total, 0);
    let scan = started;
    // A chunk that keeps failing is tried again by its queue (and dead-lettered in the end): after a
    // minute without progress, say so and stop waiting rather than wait for ever.
    let progressAt = Date.now();
    try {
      while (scan.status === 'running') {
        await new Promise((r) => setTimeout(r, 500));
        const before = scan.done;
        scan = (await call(client, 'GET', `/scans/${started.scanId}?limit=1`)).body;
        bar?.update(scan.done);
        if (scan.done !== before) progressAt = Date.now();
        else if (scan.failingChunks?.length && Date.now() - progressAt > 60_000) {
          const failing = scan.failingChunks.map((c: { chunk: number; error: string }) => `chunk ${c.chunk}: ${c.error}`).join('; ');
          throw new CliError(`scan ${scan.scanId} is stuck at ${scan.done}/${scan.total} endpoints (${failing}); it is retried, and certops dead-letters list --consumer inventoryScanChunks shows it once retries are spent`, 1);
        }
      }
    } finally {
      bar?.stop();
    }
    // The results come a page at a time (a /16 is 65,534 endpoints).
    const endpoints: ScannedEndpoint[] = [];
    for (let token: string | undefined, first = true; first || token; first = false) {
      const page = (await call(client, 'GET', `/scans/${started.scanId}?limit=1000${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`)).body;
      endpoints.push(...page.endpoints);
      token = page.nextToken;
    }
    scan = { ...scan, endpoints, nextToken: undefined };
    out([`scan ${scan.scanId} ${scan.status}: ${scan.counts?.endpoints ?? 0} endpoints, ${scan.counts?.certificates ?? 0} certificates (${scan.counts?.newCertificates ?? 0} new), ${scan.counts?.failures ?? 0} failed`, ...scanSummary(endpoints)].join('\n'), scan);
    if (scan.status !== 'completed') process.exitCode = 1;
  },
  async list() {
    const q = new URLSearchParams();
    if (values.limit) q.set('limit', values.limit);
    if (values['next-token']) q.set('nextToken', values['next-token']);
    for (const [flag, param] of [['environment', 'environment'], ['owner', 'owner'], ['status', 'status'], ['issuer', 'issuer'], ['domain', 'domain'], ['expiring-within-days', 'expiringWithinDays'], ['sort', 'sort']] as const) {
      const v = values[flag];
      if (typeof v === 'string') q.set(param, v);
    }
    const { body } = await call(client, 'GET', `/certificates${q.size ? `?${q}` : ''}`);
    const rows = (body.items as any[]).map((c) => `${c.id}  ${c.status.padEnd(10)}  ${c.notAfter.slice(0, 10)}  ${c.commonName ?? c.subject}`);
    out([...rows, ...(body.nextToken ? [`(more: --next-token ${body.nextToken})`] : [])].join('\n') || '(no certificates)', body);
  },
  async show() {
    const [id] = operands;
    const { body } = await call(client, 'GET', `/certificates/${encodeURIComponent(id)}`);
    if (values.pem) return out(`${body.certificatePem.trimEnd()}\n${body.chainPem.trimEnd()}`, { certificatePem: body.certificatePem, chainPem: body.chainPem });
    out(certificateDetail(body), body);
  },
  async verify() {
    const [file] = operands;
    if (values.purpose && !['serverAuth', 'clientAuth'].includes(values.purpose)) usage('--purpose is serverAuth or clientAuth');
    const at = values.at ? new Date(values.at) : new Date();
    let validated;
    try {
      validated = verifyPemPath({
        chainPem: readInput(file, 'chain'),
        rootsPem: values.roots ? readInput(values.roots, 'roots') : undefined,
        at,
        host: values.host,
        purpose: values.purpose as 'serverAuth' | 'clientAuth' | undefined,
      });
    } catch (err) {
      if (err instanceof ValidationError) throw new CliError(err.message, 2);
      throw err;
    }
    let verdict: ChainVerdict | RevocationVerdict = validated.verdict;
    if (values['check-revocation']) {
      const { certificates, anchored } = validated;
      const checker = new RevocationChecker({ fetcher: httpRevocationFetcher(), newNonce: () => randomBytes(16) });
      verdict = withRevocation(validated.verdict, certificates, await checker.path(certificates, anchored, at));
    }
    const path = verdict.path.map((p, i) => `  ${i}: ${p.subject}  (expires ${p.notAfter.slice(0, 10)})${'revocation' in p ? `\n     revocation: ${describeRevocation(p.revocation)}` : ''}`).join('\n');
    out(verdict.valid ? `valid\n${path}` : `invalid\n${verdict.reasons.map((r) => `  - ${r}`).join('\n')}\npath:\n${path}`, verdict);
    if (!verdict.valid) process.exitCode = 1;
  },
  async report() {
    const [kind] = operands;
    if (kind !== 'inventory' && kind !== 'expiry' && kind !== 'readiness') usage('report is inventory, expiry or readiness');
    const format = values.format ?? (values.json ? 'json' : 'text');
    if (!['csv', 'json', 'text'].includes(format)) usage('--format is csv or json');
    const { body, text } = await call(client, 'GET', `/reports/${kind}?format=${format === 'csv' ? 'csv' : 'json'}`);
    if (format === 'csv') return void process.stdout.write(text);
    if (format === 'json') return void process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    if (kind === 'inventory') {
      const lines = [`${body.total} certificates: ${Object.entries(body.byStatus).map(([k, v]) => `${v} ${k}`).join(', ')}`,
        `of those in use (active or discovered), ${body.liveTotal}:`,
        `  open findings: ${Object.entries(body.openFindingsBySeverity).map(([k, v]) => `${v} ${k}`).join(', ')}`,
        '  by issuer:', ...Object.entries(body.byIssuer).map(([k, v]) => `    ${v}  ${k}`),
        '  by environment:', ...Object.entries(body.byEnvironment).map(([k, v]) => `    ${v}  ${k}`)];
      return void process.stdout.write(`${printable(lines.join('\n'))}\n`);
    }
    if (kind === 'readiness') {
      const lines = [`at ${body.lifetimeDays}-day lifetimes, ${body.ready} of ${body.inUse} end-entity certificates in use (CA certificates aside) renew with no one's hand; ${body.notReady} would need a person:`,
        ...Object.entries(body.byReason as Record<string, { count: number; meaning: string }>).filter(([, r]) => r.count).map(([k, r]) => `  ${r.count}  ${k}: ${r.meaning}`),
        'by owner (ready / not):', ...Object.entries(body.byOwner as Record<string, { ready: number; notReady: number }>).map(([k, v]) => `  ${v.ready} / ${v.notReady}  ${k}`),
        'by issuer (ready / not):', ...Object.entries(body.byIssuer as Record<string, { ready: number; notReady: number }>).map(([k, v]) => `  ${v.ready} / ${v.notReady}  ${k}`),
        ...body.certificates.slice(0, 20).map((c: { id: string; commonName: string; owner: string; reasons: string[] }) => `${c.id}  ${c.commonName}  ${c.owner || '(no owner)'}  ${c.reasons.join(', ')}`),
        ...(body.certificates.length > 20 ? [`(and ${body.certificates.length - 20} more: --format csv lists them all)`] : [])];
      return void process.stdout.write(`${printable(lines.join('\n'))}\n`);
    }
    const bar = (n: number) => '#'.repeat(Math.min(n, 60));
    const lines = [`expired: ${body.expired.count}`, ...body.weeks.map((w: any) => `week ${String(w.week).padStart(2)} (${w.from.slice(0, 10)}): ${String(w.count).padStart(4)} ${bar(w.count)}`), ...body.months.map((m: any) => `${m.month}:        ${String(m.count).padStart(4)} ${bar(m.count)}`)].map((l) => l.trimEnd());
    process.stdout.write(`${printable(lines.join('\n'))}\n`);
  },
  async 'ct logs add'() {
    const { body } = await call(client, 'POST', '/ct/logs', { url: operands[0], key: values.key, start: startPosition(), ...(values.kind ? { kind: values.kind } : {}) });
    out(`watching ${body.logUrl} from entry ${body.position}`, body);
  },
  async 'ct logs list'() {
    const { body } = await call(client, 'GET', '/ct/logs');
    out(body.items.map((l: any) => `${l.logUrl}  verified to ${l.position} of ${l.treeSize}${l.paused ? '  (paused)' : ''}${l.lastError ? `  (failing: ${l.failures} in a row, ${l.lastError})` : ''}`).join('\n') || '(no logs)', body);
  },
  async 'ct logs load'() {
    const { readLogList } = await import('../shared/ct/log-list.ts');
    const [file] = operands;
    let list: unknown;
    try {
      list = JSON.parse(readInput(file, 'log list'));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`${file} is not JSON: ${(err as Error).message}`, 2);
    }
    const { logs, skipped } = readLogList(list);
    const added = [];
    for (const l of logs) {
      try {
        added.push((await call(client, 'POST', '/ct/logs', { url: l.url, key: l.key, kind: l.kind, start: startPosition() })).body);
      } catch (err) {
        // One log that cannot be added (down, a key that does not verify) is reported, and the others are added.
        skipped.push({ description: l.description, url: l.url, reason: (err as Error).message });
      }
    }
    const lines = [`watching ${added.length} logs from ${file}`, ...skipped.map((s) => `skipped ${s.description} (${s.url}): ${s.reason}`)];
    out(lines.join('\n'), { added, skipped });
  },
  ...Object.fromEntries((['pause', 'resume', 'remove'] as const).map((verb) => [`ct logs ${verb}`, async () => {
    const [url] = operands;
    if (values['dry-run']) {
      const log = ((await call(client, 'GET', '/ct/logs')).body.items as { logUrl: string; position: number; treeSize: number }[]).find((l) => l.logUrl === url);
      if (!log) throw new CliError(`${url} is not watched (certops ct logs list shows the logs)`, 1);
      return out(`would stop watching ${url} (verified to ${log.position} of ${log.treeSize}); nothing was removed`, { dryRun: true, log });
    }
    const { body } = await call(client, 'POST', `/ct/logs/${verb}`, { url });
    out(`${url}: ${verb === 'remove' ? 'no longer watched' : verb === 'pause' ? 'paused' : 'resumed'}`, body);
  }])),
  ...Object.fromEntries((['add', 'remove', 'list'] as const).map((verb) => [`ct watch ${verb}`, async () => {
    const current: string[] = (await call(client, 'GET', '/ct/watchlist')).body.domains;
    if (verb === 'list') return out(current.join('\n') || '(nothing watched)', { domains: current });
    const domains = verb === 'add' ? [...current, ...operands] : current.filter((d) => !operands.map((r) => r.toLowerCase()).includes(d));
    const { body } = await call(client, 'PUT', '/ct/watchlist', { domains });
    out(body.domains.join('\n') || '(nothing watched)', body);
  }])),
  async 'ct poll'() {
    const { body } = await call(client, 'POST', '/ct/poll', {});
    const lines = [
      ...body.logs.map((l: any) => (l.error ? `${l.logUrl}: FAILED (${l.failures} in a row): ${l.error}` : `${l.logUrl}: ${l.from} → ${l.to}, ${l.unauthorized} unauthorized, ${l.observed} known${l.staleHead !== undefined ? `; served an older head (${l.staleHead})` : ''}${l.misbehaviour ? `; MISBEHAVIOUR: ${l.misbehaviour}` : ''}`)),
      ...(body.paused ?? []).map((u: string) => `${u}: paused`),
      ...(body.backingOff ?? []).map((b: any) => `${b.logUrl}: waiting until ${b.retryAfter} after ${b.failures} failures (${b.lastError})`),
    ];
    out(lines.join('\n') || '(no logs)', body);
  },
  async 'ct findings'() {
    const q = new URLSearchParams();
    for (const [flag, param] of [['status', 'status'], ['limit', 'limit'], ['next-token', 'nextToken']] as const) if (typeof values[flag] === 'string') q.set(param, values[flag] as string);
    const { body } = await call(client, 'GET', `/ct/findings${q.size ? `?${q}` : ''}`);
    const rows = (body.items as any[]).map((f) => `${f.id}  ${f.status.padEnd(10)} ${f.severity.padEnd(6)} ${f.names.join(', ')}  (${f.entryType} at ${f.logUrl} #${f.index})`);
    out([...rows, ...(body.nextToken ? [`(more: --next-token ${body.nextToken})`] : [])].join('\n') || '(no findings)', body);
  },
  async 'ct authorize'() {
    const { body } = await call(client, 'POST', `/ct/findings/${encodeURIComponent(operands[0])}/authorize`, {});
    out(`authorized ${body.id}: ${body.names.join(', ')}`, body);
  },
  async 'siem dead-letters'() {
    const { body } = await call(client, 'GET', `/siem/dead-letters${values.sink ? `?sink=${encodeURIComponent(values.sink)}` : ''}`);
    out(body.items.map((l: any) => `${l.sink}  ${l.id}  ${l.attempts} attempts  ${l.lastError ?? ''}`).join('\n') || '(no dead letters)', body);
  },
  async 'siem replay'() {
    const { body } = await call(client, 'POST', '/siem/replay', values.sink ? { sink: values.sink } : {});
    out(`requeued ${body.requeued}; delivered ${Object.entries(body.delivered).map(([k, v]: [string, any]) => `${k}: ${v.sent} sent, ${v.failed} failed`).join('; ')}`, body);
  },
  async 'dead-letters list'() {
    const q = new URLSearchParams(values.consumer ? { consumer: values.consumer } : {});
    if (values.limit) q.set('limit', values.limit);
    const { body } = await call(client, 'GET', `/dead-letters?${q}`);
    out(body.queues.map((q: any) => [`${q.consumer}: ${q.approximateCount} dead letter(s)`, ...q.messages.map((m: any) => `  ${m.eventId}  ${m.detailType}  from ${m.source} at ${m.time}, received ${m.receiveCount} times`)].join('\n')).join('\n'), body);
  },
  async 'dead-letters replay'() {
    const { body } = await call(client, 'POST', '/dead-letters/replay', values.consumer ? { consumer: values.consumer } : {});
    out(body.queues.map((q: any) => `${q.consumer}: ${q.approximateCount ? `${q.approximateCount} dead letter(s) going back to its queue` : 'nothing to replay'}`).join('\n'), body);
  },
  async 'audit verify'() {
    const { body } = await call(client, 'GET', '/audit/verify');
    out(body.valid ? `the audit trail is intact: ${body.records} records` : `the audit trail is broken: ${body.problem.message}`, body);
    if (!body.valid) process.exitCode = 1;
  },
  async 'audit export'() {
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ limit: '1000' });
      if (values.from) q.set('from', values.from);
      if (values.to) q.set('to', values.to);
      if (token) q.set('nextToken', token);
      const { body } = await call(client, 'GET', `/events?${q}`);
      for (const r of body.items) process.stdout.write(`${JSON.stringify(r)}\n`);
      token = body.nextToken;
    } while (token);
  },
  async adopt() {
    const [id] = operands;
    const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/adopt`, { issuer: values.issuer, targets: values.target });
    // Adopting renews and deploys nothing now: the sweep does, when its renewal window opens.
    const { renewalDueAt } = (await call(client, 'GET', `/certificates/${encodeURIComponent(id)}`)).body;
    out([
      `adopted ${body.certificateId}: certops renews it through ${body.issuer}${renewalDueAt ? ` from ${renewalDueAt}` : ''}${body.targets.length ? ` and deploys each renewal to ${body.targets.join(', ')}` : ''}`,
      `  nothing was renewed or deployed yet: certops renew ${body.certificateId} --wait does it now`,
    ].join('\n'), { ...body, renewalDueAt });
  },
  async 'targets list'() {
    const { body } = await call(client, 'GET', '/targets');
    out((body.items as any[]).map((t) => `${t.name.padEnd(20)} ${t.type.padEnd(14)} ${t.directory ?? t.url ?? [t.region, t.secretId ?? t.certificateArn].filter(Boolean).join(' ')}${t.endpoint ? `  verified at ${t.endpoint}` : ''}`).join('\n') || '(no targets)', body);
  },
  async 'targets add'() {
    const [name] = operands;
    const allowed = { owners: values['allow-owner'], roles: values['allow-role'], environments: values['allow-environment'] };
    const target = { name, type: values.type, allowed: Object.values(allowed).some(Boolean) ? allowed : undefined, directory: values.directory, url: values.url, secretEnv: values['secret-env'], region: values.region, secretId: values['secret-id'], certificateArn: values['certificate-arn'], endpoint: values['verify-at'], serverName: values['server-name'], reloadCommand: values['reload-command'] };
    const { body } = await call(client, 'POST', '/targets', Object.fromEntries(Object.entries(target).filter(([, v]) => v !== undefined)));
    out(`registered ${body.name} (${body.type})`, body);
  },
  async 'targets remove'() {
    const [name] = operands;
    const { body } = await call(client, 'DELETE', `/targets/${encodeURIComponent(name)}${values['dry-run'] ? '?dryRun=true' : ''}`);
    const detached = (body.detachedFrom as { certificateId: string; subject: string }[]).map((c) => `  ${c.certificateId}  ${c.subject}`);
    out([body.dryRun ? `would remove ${name}; ${certificates(detached.length)} would stop deploying there; nothing was removed` : `removed ${name}; ${certificates(detached.length)} no longer deploy there`, ...detached].join('\n'), body);
  },
  async deploy() {
    const [id] = operands;
    const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/targets`, { targets: values.target });
    out([`${body.certificateId} deploys to ${body.targets.join(', ')}`, ...body.deployments.map((d: { target: string; verified: boolean }) => `  ${d.target}: deployed${d.verified ? ' and verified' : ''}`)].join('\n'), body);
  },
  async 'requests list'() {
    const q = new URLSearchParams();
    if (values.pending) q.set('pending', 'true');
    if (values.limit) q.set('limit', values.limit);
    if (values['next-token']) q.set('nextToken', values['next-token']);
    const { body } = await call(client, 'GET', `/requests${q.size ? `?${q}` : ''}`);
    const rows = (body.items as any[]).map((r) => `${r.requestId}  ${r.status.padEnd(18)} ${r.subjectAlternativeNames.join(', ')}${r.renews ? ` (renews ${r.renews})` : ''}  by ${r.requestedBy} at ${r.createdAt}${r.status === 'pending_approval' ? `, lapses ${r.expiresAt}` : ''}${r.reasons?.length ? `\n    ${r.reasons.join('\n    ')}` : ''}`);
    out([...rows, ...(body.nextToken ? [`(more: --next-token ${body.nextToken})`] : [])].join('\n') || (values.pending ? '(nothing waits for approval)' : '(no requests)'), body);
  },
  async approve() {
    const [id] = operands;
    const { body } = await call(client, 'POST', `/requests/${encodeURIComponent(id)}/approve`, { comment: values.comment });
    out(`${body.status}: request ${body.requestId}${body.certificateId ? `, certificate ${body.certificateId}` : ''}`, body);
  },
  async reject() {
    const [id] = operands;
    const { body } = await call(client, 'POST', `/requests/${encodeURIComponent(id)}/reject`, { comment: values.comment });
    out(`${body.status}: request ${body.requestId}`, body);
  },
  async revoke() {
    const [id] = operands;
    if (id && (values.issuer || values.key)) usage('revoke takes a certificate id, or --issuer or --key, not both');
    if (id) {
      // --dry-run asks the API, which checks the reason, the caller's role and the certificate as a revocation would.
      const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/revoke`, { reason: values.reason, ...(values['dry-run'] ? { dryRun: true } : {}) });
      if (body.dryRun) return out(`would revoke ${body.wouldRevoke[0].certificateId} (${body.reason}): ${body.wouldRevoke[0].subject}, ${body.wouldRevoke[0].status}; nothing was revoked`, body);
      return out(`revoked ${body.certificateId} (${body.reason}) at ${body.revokedAt}`, body);
    }
    if (!values.issuer && !values.key) usage('revoke needs a certificate id, or --issuer DN or --key SPKI_SHA256');
    const { body } = await call(client, 'POST', '/revocations', { issuer: values.issuer, spkiSha256: values.key, reason: values.reason, dryRun: Boolean(values['dry-run']) });
    const list = (body.dryRun ? body.wouldRevoke : body.revoked) as { certificateId: string; subject: string }[];
    out([`${body.dryRun ? 'would revoke' : 'revoked'} ${certificates(list.length)} (${body.reason})`, ...list.map((c) => `  ${c.certificateId}  ${c.subject}`)].join('\n'), body);
  },
  async config() {
    const { human, data } = await configCommand(commandPath[1] as ConfigSubcommand, operands[0], values, client);
    out(human, data);
  },
  async renew() {
    const [id] = operands;
    if (values.timeout !== undefined && !values.wait) usage('--timeout goes with --wait');
    const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/renew`, {});
    if (!values.wait) return out(`renewal started: ${body.executionName}`, body);
    if (!values.json) out(`renewal started: ${body.executionName}`, body);
    const followed = await followRenewal(client, id, body.executionName, timeoutSeconds(), printStep);
    out(followed.outcome === 'succeeded' ? `renewed: ${id} is replaced by ${followed.successorId}` : `the renewal failed; ${id} stays in force`, followed);
    if (followed.outcome !== 'succeeded') process.exitCode = 1;
  },
};

/** `certops show`: every fact the inventory holds about one certificate, a line each. */
function certificateDetail(c: any): string {
  const line = (label: string, value: unknown) => `  ${`${label}:`.padEnd(13)}${value === undefined || value === '' ? '-' : value}`;
  // A section's first line: its label alone when lines of its own follow (no padding left at the end).
  const heading = (label: string, none: string) => `  ${`${label}:`.padEnd(13)}${none}`.trimEnd();
  const ownRevocation = c.revokedAt ? `revoked by certops at ${c.revokedAt} (${c.revocationReason})` : undefined;
  return [
    `${c.id}  ${c.status}  (${[c.source, ...(c.sources ?? []).filter((s: string) => s !== c.source)].join(', ')})`,
    line('subject', c.subject),
    line('names', c.subjectAlternativeNames.join(', ')),
    line('issuer', `${c.issuer}${c.issuerBackend ? ` (through ${c.issuerBackend})` : ''}`),
    line('serial', c.serialNumber),
    line('valid', `${c.notBefore} .. ${c.notAfter}`),
    line('fingerprint', c.fingerprintSha256),
    line('key', `${c.keyAlgorithm}, signed ${c.signatureAlgorithm}${c.hasManagedKey ? '; the key is in the vault' : ''}`),
    // What `certops revoke --key` takes: every certificate of this key.
    line('key sha256', c.spkiSha256),
    line('owner', c.owner),
    line('environment', c.environment),
    line('revocation', `${ownRevocation ?? describeRevocation(c.revocation)}${c.revocation.checkedAt ? ` (checked ${c.revocation.checkedAt})` : ''}`),
    line('renewal', c.pendingRenewal && !c.supersededBy ? `running: ${c.pendingRenewal.executionName}, successor ${c.pendingRenewal.newCertificateId}` : c.renewalDueAt ? `due from ${c.renewalDueAt} (${c.renewalDueSource === 'ca-ari' ? `the CA's renewal window, ARI: ${c.renewalInfo.windowStart} to ${c.renewalInfo.windowEnd}` : 'default window'})` : undefined),
    line('renews', c.renewalOf),
    line('renewed by', c.supersededBy),
    line('request', c.requestId ? `${c.requestId}${c.requestedBy ? ` by ${c.requestedBy}` : ''}` : undefined),
    // A superseded certificate keeps the targets it was deployed to; its successor's history says where that went.
    line('targets', c.targets.length && c.status === 'superseded' ? `${c.targets.join(', ')} (until superseded by ${c.supersededBy})` : c.targets.join(', ')),
    heading('findings', c.findings.length ? '' : '-'),
    ...c.findings.map((f: any) => `    ${f.severity.padEnd(8)} ${f.id}: ${f.message}`),
    heading('served at', c.endpoints.length ? '' : '-'),
    ...c.endpoints.map((e: any) => `    ${e.host}:${e.port}  ${e.protocol ?? ''}  last seen ${e.lastSeen}`),
    // The history holds deployments and renewals: a certificate just issued has none yet.
    heading('history', c.history.length ? '' : '- (no deployment or renewal yet)'),
    ...c.history.map((h: any) => `    ${h.at}  ${h.kind} ${h.outcome}${h.target ? ` on ${h.target}` : ''}${h.detail ? `: ${h.detail}` : ''}`),
  ].join('\n');
}

/** `--wait`: each step on its own line as it happens (not with --json, which prints the end result). */
function printStep(step: Step) {
  if (!values.json) process.stdout.write(`  ${step.at}  ${printable(step.step)}\n`);
}

function timeoutSeconds(): number {
  return values.timeout === undefined ? 300 : wholeNumber(values.timeout, '--timeout');
}

/** A positive whole number given on the command line, or a usage error naming the option. */
function wholeNumber(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) usage(`${option} is a whole number, not ${JSON.stringify(value)}`);
  return n;
}

/** A file the user named, or one line saying why it cannot be read (exit 2). */
function readInput(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
}

/** Where a newly watched log is read from: `now`, an entry index, or a date (`--start`). */
function startPosition(): number | string {
  return /^\d+$/.test(values.start ?? '') ? Number(values.start) : values.start ?? 'now';
}

// A reader that stops early (`| head -c 0`) closes the pipe: the output is no longer wanted, which is no error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const collect = (value: string, previous: string[] = []) => [...previous, value];
/** An option as the commands below declare it: `--name <value>`, `--flag`, or `--many <value>` given once per value. */
type OptionSpec = [flags: string, description: string] | [flags: string, description: string, 'many' | 'required' | 'required-many'];

/**
 * The command line: each command takes its own options and operands, and refuses any other
 * (commander, https://github.com/tj/commander.js). `certops <command> --help` says what it takes.
 */
function program(): Command {
  const root = new Command('certops')
    .description('certificate lifecycle management')
    .option('--endpoint <url>', 'the suite (default: the local suite\'s socket in $CERTOPS_HOME, else http://127.0.0.1:${PORT:-8080})')
    .option('--json', 'machine-readable output')
    .option('--debug', 'the stack of an unexpected error')
    .addHelpText('after', `\nAuth: CERTOPS_TOKEN, or the local admin token file under $CERTOPS_HOME (default ./.certops).`)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  // A command runs commands['<its words>'] (`ct logs add`), unless it names its own.
  const define = (parent: Command, name: string, description: string, options: OptionSpec[], run?: () => Promise<void>) => {
    const command = parent.command(name).description(description).exitOverride().configureOutput({ outputError: () => undefined });
    for (const [flags, text, kind] of options) {
      if (kind === 'many') command.option(flags, text, collect);
      else if (kind === 'required') command.requiredOption(flags, text);
      else if (kind === 'required-many') command.requiredOption(flags, text, collect);
      else command.option(flags, text);
    }
    command.action(async (...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      values = Object.fromEntries(Object.entries(self.optsWithGlobals()).map(([k, v]) => (k === 'legacyCheck' ? ['no-legacy-check', v === false] : [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v])));
      commandPath = [];
      for (let c: Command | null = self; c?.parent; c = c.parent) commandPath.unshift(c.name());
      operands = self.args;
      client = { endpoint: resolveEndpoint(values.endpoint, process.env), token: resolveToken(process.env) };
      await (run ?? commands[commandPath.join(' ')])();
    });
    return command;
  };
  const group = (name: string, description: string) => root.command(name).description(description).exitOverride().configureOutput({ outputError: () => undefined });
  const wait: OptionSpec[] = [['--wait', 'show each step as it happens, until it is done'], ['--timeout <seconds>', 'how long --wait waits (300)']];
  const environmentOwner: OptionSpec[] = [['--environment <env>', 'the environment it belongs to'], ['--owner <owner>', 'the team that owns it']];

  define(root, 'serve', 'run the whole suite locally (what npm start runs)', []);
  define(root, 'bootstrap', 'first start on AWS, with your AWS credentials: the built-in CA, the initial configuration, the first admin token (printed once); twice changes nothing',
    [['--stage <stage>', 'the stage you deployed (npx serverless deploy --stage STAGE)', 'required'], ['--region <region>', 'its region'], ['--config <file>', 'the initial configuration']]);
  const token = group('token', 'API tokens (admin only)');
  define(token, 'create', 'mint an API token', [['--role <role>', 'viewer, requester, approver, provisioner or admin', 'required'], ['--name <name>', 'who or what holds it', 'required'], ['--expires-at <time>', 'when it stops working'], ['--event-source <source>', 'a PutEvents source it may use (repeat for more)', 'many']]);
  define(token, 'list', 'the tokens (never their secrets)', []);
  define(token, 'revoke <id>', 'revoke a token at once', [['--dry-run', 'say which token it is, and revoke nothing']]);
  define(root, 'request <names...>', 'request a certificate for NAMES (the first is its common name)', [
    ['--csr <file>', 'your CSR (PEM); without one, the key is made and kept in the vault'], ['--key-algorithm <alg>', 'EC_P256, EC_P384, RSA_2048, ...'], ['--validity-days <n>', 'its lifetime'],
    ['--issuer <name>', 'the CA backend: local (the default) or one configured under issuers'], ...environmentOwner, ['--target <name>', 'a deployment target (repeat for more)', 'many'], ['--idempotency-key <key>', 'the same key twice makes one request'], ...wait,
  ]);
  define(root, 'import <paths...>', 'import certificate files and folders (PEM or DER; private keys are skipped)', environmentOwner);
  define(root, 'scan <targets...>', 'discover the certificates served by hosts, host:port, addresses or CIDR ranges (up to a /16)',
    [['--port <n>', 'a port to scan (repeat for more; 443 by default)', 'many'], ['--no-legacy-check', 'skip the second handshake that tests TLS 1.0/1.1']]);
  define(root, 'list', 'list the inventory', [...environmentOwner, ['--status <status>', 'active, discovered, expired, revoked, superseded'], ['--issuer <dn>', 'issued by DN'], ['--domain <domain>', 'naming DOMAIN or a name under it'],
    ['--expiring-within-days <n>', 'expiring within N days'], ['--sort <order>', 'newest (default) or oldest first, expiry (soonest first) or -expiry'], ['--limit <n>', 'certificates per page'], ['--next-token <token>', 'the next page']]);
  define(root, 'show <id>', 'one certificate', [['--pem', 'its PEM and chain only']]);
  define(root, 'report <kind>', 'reports: inventory, expiry, or readiness (who would need a person at 47-day lifetimes)', [['--format <format>', 'csv or json']]);
  define(root, 'renew <id>', 'start the renew-then-deploy saga now', wait);
  define(root, 'adopt <id>', 'manage a discovered certificate: renew it through an issuer, deploy it to targets',
    [['--issuer <name>', 'a CA backend: local, or one configured', 'required'], ['--target <name>', 'a deployment target (repeat for more)', 'many']]);
  const targets = group('targets', 'where certificates are deployed (admin only to change)');
  define(targets, 'list', 'the deployment targets', []);
  define(targets, 'add <name>', 'register a target, or change the one of that name', [
    ['--type <type>', 'filesystem (default), webhook, acm or secretsmanager'], ['--directory <dir>', 'filesystem: the folder (inside deployment.allowedRoots)'], ['--reload-command <cmd>', 'filesystem: run after each deployment'],
    ['--url <url>', 'webhook: the https:// URL'], ['--secret-env <var>', 'webhook: the environment variable holding the HMAC secret'], ['--region <region>', 'acm, secretsmanager: the AWS region'],
    ['--secret-id <id>', 'secretsmanager: the secret'], ['--certificate-arn <arn>', 'acm: the certificate to re-import into'], ['--verify-at <host:port>', 'verify each deployment with a TLS handshake there'], ['--server-name <name>', 'the SNI name for that handshake'],
    ['--allow-owner <owner>', 'who else may name it in requests (repeat for more; admins always may)', 'many'], ['--allow-role <role>', 'a role that may name it (repeat for more)', 'many'], ['--allow-environment <env>', 'only for certificates of this environment (repeat for more)', 'many'],
  ]);
  define(targets, 'remove <name>', 'remove a target; the certificates that deploy there stop doing so', [['--dry-run', 'say which certificates would stop deploying there, and remove nothing']]);
  define(root, 'deploy <id>', 'deploy a certificate to targets now, and on every renewal', [['--target <name>', 'a target (repeat for more)', 'required-many']]);
  const acme = group('acme', 'certops\' ACME server (RFC 8555) at /acme/<profile>/directory');
  define(acme, 'eab', 'mint an External Account Binding key for an ACME client (requesters and admins)', []);
  const requests = group('requests', 'certificate requests');
  define(requests, 'list', 'requests, the newest first', [['--pending', 'only those waiting for an approver (the soonest to lapse first)'], ['--limit <n>', 'requests per page'], ['--next-token <token>', 'the next page']]);
  define(root, 'approve <requestId>', 'approve a request waiting for approval', [['--comment <text>', 'why']]);
  define(root, 'reject <requestId>', 'reject a request waiting for approval', [['--comment <text>', 'why']]);
  define(root, 'revoke [id]', 'revoke a certificate, or every certificate of an issuer (--issuer) or a key (--key)', [
    ['--reason <reason>', 'RFC 5280 reason: keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, ...', 'required'],
    ['--issuer <dn>', 'every certificate this issuer issued'], ['--key <spkiSha256>', 'every certificate of this key'], ['--dry-run', 'say what would be revoked, and revoke nothing'],
  ]);
  const ct = group('ct', 'Certificate Transparency: logs, watched domains, findings');
  const logs = ct.command('logs').description('the logs watched').exitOverride().configureOutput({ outputError: () => undefined });
  const start: OptionSpec = ['--start <start>', 'now (default), 0, an entry index, or a date'];
  define(logs, 'add <url>', 'watch a log', [['--key <key>', 'the log\'s public key (base64 DER)', 'required'], ['--kind <kind>', 'rfc6962 (default) or static'], start]);
  define(logs, 'list', 'the logs and how far each is read', []);
  define(logs, 'load <logList>', 'watch every usable log of a log list (v3 JSON)', [start]);
  for (const verb of ['pause', 'resume']) define(logs, `${verb} <url>`, `${verb} a log`, []);
  define(logs, 'remove <url>', 'stop watching a log', [['--dry-run', 'say how far it was read, and remove nothing']]);
  const watch = ct.command('watch').description('the watched domains (.example.com: the domain and its subdomains)').exitOverride().configureOutput({ outputError: () => undefined });
  define(watch, 'add <domains...>', 'watch domains', []);
  define(watch, 'remove <domains...>', 'stop watching domains', []);
  define(watch, 'list', 'the watched domains', []);
  define(ct, 'poll', 'read every log now (15 seconds)', [['--once', 'one poll (the default)']]);
  define(ct, 'findings', 'certificates on watched domains nobody here issued, newest first', [['--status <status>', 'open or authorized'], ['--limit <n>', 'findings per page'], ['--next-token <token>', 'the next page']]);
  define(ct, 'authorize <findingId>', 'a finding is known and wanted: it joins the inventory', []);
  const deadLetters = group('dead-letters', 'events a consumer kept failing (its dead-letter queue), admin only');
  const consumer: OptionSpec = ['--consumer <function>', 'one consumer'];
  define(deadLetters, 'list', 'the dead letters', [consumer, ['--limit <n>', 'messages shown per consumer']]);
  define(deadLetters, 'replay', 'send them back to their queues once the cause is fixed', [consumer]);
  const siem = group('siem', 'the SIEM export');
  define(siem, 'dead-letters', 'events a SIEM sink kept refusing', [['--sink <sink>', 'one sink']]);
  define(siem, 'replay', 'send them again', [['--sink <sink>', 'one sink']]);
  const audit = group('audit', 'the hash-chained audit trail');
  define(audit, 'verify', 'walk the hash chain; exit 1 naming the first broken record', []);
  define(audit, 'export', 'the audit trail as NDJSON evidence (each record with its hashes)', [['--from <time>', 'from'], ['--to <time>', 'to']]);
  const config = group('config', 'the configuration in force, its versions and proposed changes');
  define(config, 'get', 'the configuration in force (YAML; --json: with its version and who set it)', [], commands.config);
  define(config, 'set <file>', 'put FILE (YAML or JSON) in force; a change to anything but scan targets and ports, ACM regions and CT pacing waits for a second admin', [], commands.config);
  define(config, 'diff <file>', 'what FILE would change', [], commands.config);
  define(config, 'history', 'every version: who changed what, who approved it', [['--limit <n>', 'versions shown']], commands.config);
  define(config, 'changes', 'proposed changes waiting for (or decided by) a second admin', [['--status <status>', 'pending, approved or rejected']], commands.config);
  define(config, 'approve <changeId>', 'approve a proposed change', [['--comment <text>', 'why']], commands.config);
  define(config, 'reject <changeId>', 'reject a proposed change', [['--comment <text>', 'why']], commands.config);
  define(root, 'verify <chain>', 'validate a chain (PEM) locally: exit 0 valid, 1 invalid, 2 unusable input', [
    ['--roots <file>', 'trust anchors (PEM; default: the system\'s)'], ['--host <name>', 'the name it must be valid for'], ['--at <time>', 'the time to validate at'],
    ['--purpose <purpose>', 'serverAuth or clientAuth'], ['--check-revocation', 'ask each certificate\'s OCSP responder or CRL; revoked, or a status that cannot be determined, makes it invalid'],
  ]);
  return root;
}

/** A commander refusal as one line, naming the command and where its options are listed; exit 2. */
function refusal(err: CommanderError, argv: string[], root: Command): CliError {
  // The command the words name, as far as they name one.
  const path: string[] = [];
  let at = root;
  for (const word of argv.filter((a) => !a.startsWith('-'))) {
    const next = at.commands.find((c) => c.name() === word);
    if (!next) break;
    path.push(word);
    at = next;
  }
  return new CliError(`${err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (certops ${[...path, '--help'].join(' ')} lists what it takes)`, 2);
}

async function main() {
  const argv = process.argv.slice(2);
  const cli = program();
  if (argv.length === 0) return void process.stdout.write(cli.helpInformation());
  try {
    await cli.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // --help, and a group named without its subcommand, print the help: no error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return;
    // A group named without its subcommand: its help went to stderr.
    if (err.code === 'commander.help') return void (process.exitCode = 2);
    throw refusal(err, argv, cli);
  }
}

main().catch((err) => {
  // A typed error (a bad configuration file or a taken port at `serve`, say) is the user's to fix:
  // its message names the field and says enough. Anything else is a bug: one line, and its stack with --debug.
  const told = err instanceof CliError || err instanceof CertopsError;
  const debug = process.argv.includes('--debug');
  process.stderr.write(`certops: ${printable(told || !debug ? (err as Error).message : String((err as Error).stack))}${told || debug ? '' : ' (an unexpected error: --debug shows its stack)'}\n`);
  process.exit(err instanceof CliError ? err.exitCode : err instanceof ValidationError ? 2 : 1);
});
