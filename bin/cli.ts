import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { printable } from './terminal-text.ts';
import { CliError, call, resolveEndpoint, resolveToken, type ClientOptions } from './api-client.ts';
import { ValidationError } from '../shared/errors.ts';
import { randomBytes } from 'node:crypto';
import { verifyPemPath } from '../shared/x509/verify-pem-chain.ts';
import type { ChainVerdict } from '../shared/x509/chain-validation.ts';
import { describeRevocation } from '../shared/x509/revocation-status.ts';
import { RevocationChecker } from '../shared/revocation/revocation-checker.ts';
import { withRevocation, type RevocationVerdict } from '../shared/revocation/revocation-verdict.ts';
import { httpRevocationFetcher } from '../adapters/revocation/http-revocation-fetcher.ts';
import { collectCertificates } from './collect-certificates.ts';
import { CONFIG_HELP, configCommand } from './config-command.ts';

const HELP = `certops: certificate lifecycle management

  certops serve                                  run the whole suite locally (what npm start runs)
  certops bootstrap --stage STAGE [--region R] [--config FILE]
                                                 first start on AWS, with your AWS credentials: the built-in CA, the
                                                 initial configuration, the first admin token (printed once); twice changes nothing
  certops token create --role ROLE --name NAME [--expires-at TIME] [--event-source SOURCE]...
                                                 mint an API token (admin only); SOURCE: PutEvents sources it may use
  certops token list · certops token revoke ID   the tokens (never their secrets); revoke one at once
  certops request NAME [NAME...] [--csr FILE] [--key-algorithm ALG] [--validity-days N]
                  [--environment ENV] [--owner OWNER] [--target NAME...] [--idempotency-key KEY]
  certops import PATH... [--environment ENV] [--owner OWNER]
                                                 import certificate files and folders (PEM or DER; private keys are skipped)
  certops scan TARGET... [--port N]... [--no-legacy-check]
                                                 discover the certificates served by hosts, host:port, addresses or CIDR ranges
                                                 (--no-legacy-check: skip the second handshake that tests TLS 1.0/1.1)
  certops list [--environment E] [--owner O] [--status S] [--issuer DN] [--domain D] [--expiring-within-days N]
               [--limit N] [--next-token T]      list the inventory
  certops show ID [--pem]                        one certificate (or its PEM)
  certops report inventory|expiry [--format csv|json]   reports (JSON with --json or --format json)
  certops renew ID                               start the renew-then-deploy saga now
  certops adopt ID --issuer NAME [--target T]...  manage a discovered certificate: renew it through NAME, deploy it to T
  certops approve|reject REQUEST_ID [--comment TEXT]   decide a request waiting for approval
  certops revoke ID --reason R                   revoke a certificate (RFC 5280 reason: keyCompromise, superseded, ...)
  certops revoke --issuer DN|--key SPKI_SHA256 --reason R [--dry-run]   revoke every certificate of an issuer or a key
  certops ct logs add URL --key KEY [--kind rfc6962|static] [--start now|INDEX|DATE] · certops ct logs list · certops ct logs load LOGLIST.json [--start ...] · certops ct logs pause|resume|remove URL
  certops ct watch add|remove DOMAIN... · certops ct watch list   (.example.com: the domain and its subdomains)
  certops ct poll --once                         read every log now · certops ct findings · certops ct authorize FINDING_ID
  certops dead-letters list|replay [--consumer FUNCTION] [--limit N]
                                                 events a consumer kept failing (its dead-letter queue), and sending them
                                                 back to its queue once the cause is fixed (admin only)
  certops siem dead-letters [--sink S]           events a SIEM sink kept refusing
  certops siem replay [--sink S]                 send them again
  certops audit verify                           walk the audit trail's hash chain; exit 1 naming the first broken record
  certops audit export [--from TIME] [--to TIME] the audit trail as NDJSON evidence (each record with its hashes)
${CONFIG_HELP}
  certops verify CHAIN.pem [--roots ROOTS.pem] [--host NAME] [--at TIME] [--purpose serverAuth|clientAuth] [--check-revocation]
                                                 validate a chain locally: exit 0 valid, 1 invalid, 2 unusable input
                                                 (--check-revocation: ask each certificate's OCSP responder or CRL; revoked,
                                                 or a status that cannot be determined, makes the chain invalid)

Options: --endpoint URL (default: the local suite's socket in $CERTOPS_HOME, else http://127.0.0.1:\${PORT:-8080}), --json for machine-readable output.
Auth: CERTOPS_TOKEN, or the local admin token file under $CERTOPS_HOME (default ./.certops).`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        endpoint: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        role: { type: 'string' },
        'expires-at': { type: 'string' },
        'event-source': { type: 'string', multiple: true },
        name: { type: 'string' },
        csr: { type: 'string' },
        'key-algorithm': { type: 'string' },
        'validity-days': { type: 'string' },
        environment: { type: 'string' },
        owner: { type: 'string' },
        target: { type: 'string', multiple: true },
        'idempotency-key': { type: 'string' },
        limit: { type: 'string' },
        'next-token': { type: 'string' },
        status: { type: 'string' },
        port: { type: 'string', multiple: true },
        'no-legacy-check': { type: 'boolean' },
        format: { type: 'string' },
        comment: { type: 'string' },
        sink: { type: 'string' },
        consumer: { type: 'string' },
        start: { type: 'string' },
        kind: { type: 'string' },
        once: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        reason: { type: 'string' },
        key: { type: 'string' },
        'dry-run': { type: 'boolean' },
        issuer: { type: 'string' },
        domain: { type: 'string' },
        'expiring-within-days': { type: 'string' },
        pem: { type: 'boolean' },
        roots: { type: 'string' },
        host: { type: 'string' },
        at: { type: 'string' },
        purpose: { type: 'string' },
        'check-revocation': { type: 'boolean' },
        stage: { type: 'string' },
        region: { type: 'string' },
        config: { type: 'string' },
      },
    });
  } catch (err) {
    // One line: which option is wrong, not the whole help.
    process.stderr.write(`certops: ${(err as Error).message.split('\n')[0]} (certops --help lists the options)\n`);
    process.exit(2);
  }
})();

const client: ClientOptions = { endpoint: resolveEndpoint(values.endpoint, process.env), token: resolveToken(process.env) };

function out(human: string, data: unknown) {
  process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${printable(human)}\n`);
}

function usage(message: string): never {
  throw new CliError(`${message}\n\n${HELP}`, 2);
}

async function serve() {
  const { startLocalStack } = await import('../local/stack.ts');
  if (!process.env.POWERTOOLS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  const stack = await startLocalStack();
  out([
    `certops is running at ${stack.url}`,
    `  state:       ${stack.home}`,
    `  admin token: ${stack.tokenFile}${stack.firstStart ? ' (created now; keep it secret)' : ''}`,
    `  try:         curl ${stack.url}/health`,
    'Press Ctrl-C to stop.',
  ].join('\n'), { url: stack.url, home: stack.home, tokenFile: stack.tokenFile, firstStart: stack.firstStart });
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
  if (!values.stage) usage('bootstrap needs --stage (the stage you deployed: npx serverless deploy --stage STAGE)');
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
  async token() {
    const sub = positionals[1];
    if (sub === 'list') {
      const { body } = await call(client, 'GET', '/tokens');
      const rows = (body.items as { tokenId: string; name: string; role: string; expiresAt: string; revokedAt?: string; eventSources: string[] }[])
        .map((t) => `${t.tokenId}  ${t.name.padEnd(20)} ${t.role.padEnd(9)} ${t.revokedAt ? `revoked ${t.revokedAt}` : `expires ${t.expiresAt}`}${t.eventSources.length ? `  sources ${t.eventSources.join(',')}` : ''}`);
      return out(rows.join('\n') || '(no tokens)', body);
    }
    if (sub === 'revoke') {
      if (!positionals[2]) usage('token revoke needs the token id (certops token list shows it)');
      const { body } = await call(client, 'DELETE', `/tokens/${encodeURIComponent(positionals[2])}`);
      return out(`revoked ${body.tokenId} (${body.name}) at ${body.revokedAt}`, body);
    }
    if (sub !== 'create') usage('token: the subcommands are create, list and revoke');
    if (!values.role || !values.name) usage('token create needs --role and --name');
    const { body } = await call(client, 'POST', '/tokens', { role: values.role, name: values.name, expiresAt: values['expires-at'], eventSources: values['event-source'] });
    out(body.token, body);
  },
  async request() {
    const names = positionals.slice(1);
    if (names.length === 0) usage('request needs at least one name');
    const payload = {
      commonName: names[0],
      subjectAlternativeNames: names,
      csr: values.csr ? readFileSync(values.csr, 'utf8') : undefined,
      keyAlgorithm: values['key-algorithm'],
      validityDays: values['validity-days'] ? Number(values['validity-days']) : undefined,
      environment: values.environment,
      owner: values.owner,
      targets: values.target,
    };
    const headers: Record<string, string> = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : {};
    const { body } = await call(client, 'POST', '/certificates', payload, headers);
    out(`${body.status}: request ${body.requestId}${body.certificateId ? `, certificate ${body.certificateId}` : ''}${body.reasons?.length ? `\n  ${body.reasons.join('\n  ')}` : ''}`, body);
  },
  async import() {
    const paths = positionals.slice(1);
    if (paths.length === 0) usage('import needs at least one file or folder');
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
      `imported ${summary.imported} certificates (${summary.new} new) from ${paths.join(', ')}`,
      ...summary.rejected.map((r) => `  rejected ${r.file}: ${r.reason}`),
      ...(found.privateKeys ? [`  skipped ${found.privateKeys} private keys (never sent)`] : []),
      ...found.skipped.map((file) => `  skipped ${file}: DER that is not a certificate (never sent)`),
    ].join('\n'), summary);
    if (summary.imported === 0) process.exitCode = 1;
  },
  async scan() {
    const targets = positionals.slice(1);
    if (targets.length === 0) usage('scan needs at least one target');
    const ports = values.port?.map(Number);
    const { body: started } = await call(client, 'POST', '/scans', { targets, ...(ports ? { ports } : {}), legacyProtocols: !values['no-legacy-check'] });
    const bar = process.stderr.isTTY && !values.json ? progressBar(started.total) : undefined;
    let scan = started;
    // A chunk that keeps failing is tried again by its queue (and dead-lettered in the end): after a
    // minute without progress, say so and stop waiting rather than wait for ever.
    let progressAt = Date.now();
    while (scan.status === 'running') {
      await new Promise((r) => setTimeout(r, 500));
      const before = scan.done;
      scan = (await call(client, 'GET', `/scans/${started.scanId}?limit=1`)).body;
      bar?.(scan.done);
      if (scan.done !== before) progressAt = Date.now();
      else if (scan.failingChunks?.length && Date.now() - progressAt > 60_000) {
        const failing = scan.failingChunks.map((c: { chunk: number; error: string }) => `chunk ${c.chunk}: ${c.error}`).join('; ');
        throw new CliError(`scan ${scan.scanId} is stuck at ${scan.done}/${scan.total} endpoints (${failing}); it is retried, and certops dead-letters list --consumer inventoryScanChunks shows it once retries are spent`, 1);
      }
    }
    bar?.(scan.total, true);
    // The results come a page at a time (a /16 is 65,534 endpoints).
    const endpoints = [];
    for (let token: string | undefined, first = true; first || token; first = false) {
      const page = (await call(client, 'GET', `/scans/${started.scanId}?limit=1000${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`)).body;
      endpoints.push(...page.endpoints);
      token = page.nextToken;
    }
    scan = { ...scan, endpoints, nextToken: undefined };
    const rows = (scan.endpoints ?? []).map((e: any) => `${`${e.host}:${e.port}`.padEnd(28)} ${e.error ? `error: ${e.error}` : `${e.certificateId}  ${e.protocol ?? ''} ${(e.subject ?? '').slice(0, 40)}${[...e.findings, ...(e.certificateFindings ?? [])].length ? `\n${' '.repeat(29)}${[...e.findings, ...(e.certificateFindings ?? [])].map((f: any) => `${f.severity}: ${f.id}`).join(', ')}` : ''}`}`);
    out([`scan ${scan.scanId} ${scan.status}: ${scan.counts?.endpoints ?? 0} endpoints, ${scan.counts?.certificates ?? 0} certificates (${scan.counts?.newCertificates ?? 0} new), ${scan.counts?.failures ?? 0} failed`, ...rows].join('\n'), scan);
    if (scan.status !== 'completed') process.exitCode = 1;
  },
  async list() {
    const q = new URLSearchParams();
    if (values.limit) q.set('limit', values.limit);
    if (values['next-token']) q.set('nextToken', values['next-token']);
    for (const [flag, param] of [['environment', 'environment'], ['owner', 'owner'], ['status', 'status'], ['issuer', 'issuer'], ['domain', 'domain'], ['expiring-within-days', 'expiringWithinDays']] as const) {
      const v = values[flag];
      if (typeof v === 'string') q.set(param, v);
    }
    const { body } = await call(client, 'GET', `/certificates${q.size ? `?${q}` : ''}`);
    const rows = (body.items as any[]).map((c) => `${c.id}  ${c.status.padEnd(10)}  ${c.notAfter.slice(0, 10)}  ${c.commonName ?? c.subject}`);
    out([...rows, ...(body.nextToken ? [`(more: --next-token ${body.nextToken})`] : [])].join('\n') || '(no certificates)', body);
  },
  async show() {
    const id = positionals[1] ?? usage('show needs a certificate id');
    const { body } = await call(client, 'GET', `/certificates/${encodeURIComponent(id)}`);
    if (values.pem) return out(`${body.certificatePem.trimEnd()}\n${body.chainPem.trimEnd()}`, { certificatePem: body.certificatePem, chainPem: body.chainPem });
    out([
      `${body.id}  ${body.status}  (${body.source})`,
      `  subject:     ${body.subject}`,
      `  names:       ${body.subjectAlternativeNames.join(', ')}`,
      `  issuer:      ${body.issuer}`,
      `  serial:      ${body.serialNumber}`,
      `  valid:       ${body.notBefore} .. ${body.notAfter}`,
      `  fingerprint: ${body.fingerprintSha256}`,
      `  key:         ${body.keyAlgorithm}, signed ${body.signatureAlgorithm}`,
      `  revocation:  ${describeRevocation(body.revocation)}${body.revocation.checkedAt ? ` (checked ${body.revocation.checkedAt})` : ''}`,
      `  targets:     ${body.targets.join(', ') || '-'}`,
      ...body.history.map((h: any) => `  ${h.at}  ${h.kind} ${h.outcome}${h.target ? ` on ${h.target}` : ''}${h.detail ? `: ${h.detail}` : ''}`),
    ].join('\n'), body);
  },
  async verify() {
    const file = positionals[1] ?? usage('verify needs a CHAIN.pem file');
    const read = (path: string, what: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
      }
    };
    if (values.purpose && !['serverAuth', 'clientAuth'].includes(values.purpose)) usage('--purpose is serverAuth or clientAuth');
    const at = values.at ? new Date(values.at) : new Date();
    let validated;
    try {
      validated = verifyPemPath({
        chainPem: read(file, 'chain'),
        rootsPem: values.roots ? read(values.roots, 'roots') : undefined,
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
    const kind = positionals[1];
    if (kind !== 'inventory' && kind !== 'expiry') usage('report is inventory or expiry');
    const format = values.format ?? (values.json ? 'json' : 'text');
    if (!['csv', 'json', 'text'].includes(format)) usage('--format is csv or json');
    const { body, text } = await call(client, 'GET', `/reports/${kind}?format=${format === 'csv' ? 'csv' : 'json'}`);
    if (format === 'csv') return void process.stdout.write(text);
    if (format === 'json') return void process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    if (kind === 'inventory') {
      const lines = [`${body.total} certificates: ${Object.entries(body.byStatus).map(([k, v]) => `${v} ${k}`).join(', ')}`,
        `of those in use (active or discovered), ${body.liveTotal}:`,
        `open findings: ${Object.entries(body.openFindingsBySeverity).map(([k, v]) => `${v} ${k}`).join(', ')}`,
        'by issuer:', ...Object.entries(body.byIssuer).map(([k, v]) => `  ${v}  ${k}`),
        'by environment:', ...Object.entries(body.byEnvironment).map(([k, v]) => `  ${v}  ${k}`)];
      return void process.stdout.write(`${printable(lines.join('\n'))}\n`);
    }
    const bar = (n: number) => '#'.repeat(Math.min(n, 60));
    const lines = [`expired: ${body.expired.count}`, ...body.weeks.map((w: any) => `week ${String(w.week).padStart(2)} (${w.from.slice(0, 10)}): ${String(w.count).padStart(4)} ${bar(w.count)}`), ...body.months.map((m: any) => `${m.month}:        ${String(m.count).padStart(4)} ${bar(m.count)}`)];
    process.stdout.write(`${printable(lines.join('\n'))}\n`);
  },
  async ct() {
    const [, area, verb, ...rest] = positionals;
    if (area === 'logs' && verb === 'add') {
      const url = rest[0] ?? usage('ct logs add needs a URL');
      if (!values.key) usage('ct logs add needs --key (the log\'s public key, base64)');
      const { body } = await call(client, 'POST', '/ct/logs', { url, key: values.key, start: /^\d+$/.test(values.start ?? '') ? Number(values.start) : values.start ?? 'now', ...(values.kind ? { kind: values.kind } : {}) });
      return out(`watching ${body.logUrl} from entry ${body.position}`, body);
    }
    if (area === 'logs' && verb === 'list') {
      const { body } = await call(client, 'GET', '/ct/logs');
      return out(body.items.map((l: any) => `${l.logUrl}  verified to ${l.position} of ${l.treeSize}${l.paused ? '  (paused)' : ''}${l.lastError ? `  (failing: ${l.failures} in a row, ${l.lastError})` : ''}`).join('\n') || '(no logs)', body);
    }
    if (area === 'logs' && verb === 'load') {
      const { readLogList } = await import('../shared/ct/log-list.ts');
      const file = rest[0] ?? usage('ct logs load needs a log list file (Google v3 JSON)');
      const { logs, skipped } = readLogList(JSON.parse(readFileSync(file, 'utf8')));
      const start = /^\d+$/.test(values.start ?? '') ? Number(values.start) : values.start ?? 'now';
      const added = [];
      for (const l of logs) {
        try {
          added.push((await call(client, 'POST', '/ct/logs', { url: l.url, key: l.key, kind: l.kind, start })).body);
        } catch (err) {
          // One log that cannot be added (down, a key that does not verify) is reported, and the others are added.
          skipped.push({ description: l.description, url: l.url, reason: (err as Error).message });
        }
      }
      const lines = [`watching ${added.length} logs from ${file}`, ...skipped.map((s) => `skipped ${s.description} (${s.url}): ${s.reason}`)];
      return out(lines.join('\n'), { added, skipped });
    }
    if (area === 'logs' && (verb === 'pause' || verb === 'resume' || verb === 'remove')) {
      const url = rest[0] ?? usage(`ct logs ${verb} needs the log's URL`);
      const { body } = await call(client, 'POST', `/ct/logs/${verb}`, { url });
      return out(`${url}: ${verb === 'remove' ? 'no longer watched' : verb === 'pause' ? 'paused' : 'resumed'}`, body);
    }
    if (area === 'watch' && (verb === 'add' || verb === 'remove' || verb === 'list')) {
      const current: string[] = (await call(client, 'GET', '/ct/watchlist')).body.domains;
      if (verb === 'list') return out(current.join('\n') || '(nothing watched)', { domains: current });
      if (rest.length === 0) usage(`ct watch ${verb} needs at least one domain`);
      const domains = verb === 'add' ? [...current, ...rest] : current.filter((d) => !rest.map((r) => r.toLowerCase()).includes(d));
      const { body } = await call(client, 'PUT', '/ct/watchlist', { domains });
      return out(body.domains.join('\n') || '(nothing watched)', body);
    }
    if (area === 'poll') {
      const { body } = await call(client, 'POST', '/ct/poll', {});
      const lines = [
        ...body.logs.map((l: any) => (l.error ? `${l.logUrl}: FAILED (${l.failures} in a row): ${l.error}` : `${l.logUrl}: ${l.from} → ${l.to}, ${l.unauthorized} unauthorized, ${l.observed} known${l.staleHead !== undefined ? `; served an older head (${l.staleHead})` : ''}${l.misbehaviour ? `; MISBEHAVIOUR: ${l.misbehaviour}` : ''}`)),
        ...(body.paused ?? []).map((u: string) => `${u}: paused`),
        ...(body.backingOff ?? []).map((b: any) => `${b.logUrl}: waiting until ${b.retryAfter} after ${b.failures} failures (${b.lastError})`),
      ];
      return out(lines.join('\n') || '(no logs)', body);
    }
    if (area === 'findings') {
      const { body } = await call(client, 'GET', '/ct/findings');
      return out(body.items.map((f: any) => `${f.id}  ${f.status.padEnd(10)} ${f.severity.padEnd(6)} ${f.names.join(', ')}  (${f.entryType} at ${f.logUrl} #${f.index})`).join('\n') || '(no findings)', body);
    }
    if (area === 'authorize') {
      const id = verb ?? usage('ct authorize needs a finding id');
      const { body } = await call(client, 'POST', `/ct/findings/${encodeURIComponent(id)}/authorize`, {});
      return out(`authorized ${body.id}: ${body.names.join(', ')}`, body);
    }
    usage('ct: logs add|list|load|pause|resume|remove, watch add|remove|list, poll, findings, authorize');
  },
  async siem() {
    const sub = positionals[1];
    if (sub === 'dead-letters') {
      const { body } = await call(client, 'GET', `/siem/dead-letters${values.sink ? `?sink=${encodeURIComponent(values.sink)}` : ''}`);
      return out(body.items.map((l: any) => `${l.sink}  ${l.id}  ${l.attempts} attempts  ${l.lastError ?? ''}`).join('\n') || '(no dead letters)', body);
    }
    if (sub === 'replay') {
      const { body } = await call(client, 'POST', '/siem/replay', values.sink ? { sink: values.sink } : {});
      return out(`requeued ${body.requeued}; delivered ${Object.entries(body.delivered).map(([k, v]: [string, any]) => `${k}: ${v.sent} sent, ${v.failed} failed`).join('; ')}`, body);
    }
    usage('siem: the subcommands are dead-letters and replay');
  },
  async 'dead-letters'() {
    const sub = positionals[1];
    const consumer: Record<string, string> = values.consumer ? { consumer: values.consumer } : {};
    if (sub === 'list') {
      const q = new URLSearchParams(consumer);
      if (values.limit) q.set('limit', values.limit);
      const { body } = await call(client, 'GET', `/dead-letters?${q}`);
      return out(body.queues.map((q: any) => [`${q.consumer}: ${q.approximateCount} dead letter(s)`, ...q.messages.map((m: any) => `  ${m.eventId}  ${m.detailType}  from ${m.source} at ${m.time}, received ${m.receiveCount} times`)].join('\n')).join('\n'), body);
    }
    if (sub === 'replay') {
      const { body } = await call(client, 'POST', '/dead-letters/replay', consumer);
      return out(body.queues.map((q: any) => `${q.consumer}: ${q.approximateCount ? `${q.approximateCount} dead letter(s) going back to its queue` : 'nothing to replay'}`).join('\n'), body);
    }
    usage('dead-letters: the subcommands are list and replay');
  },
  async audit() {
    const sub = positionals[1];
    if (sub === 'verify') {
      const { body } = await call(client, 'GET', '/audit/verify');
      out(body.valid ? `the audit trail is intact: ${body.records} records` : `the audit trail is broken: ${body.problem.message}`, body);
      if (!body.valid) process.exitCode = 1;
      return;
    }
    if (sub === 'export') {
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
      return;
    }
    usage('audit: the subcommands are verify and export');
  },
  async adopt() {
    const id = positionals[1] ?? usage('adopt needs a certificate id');
    if (!values.issuer) usage('adopt needs --issuer (a CA backend: local, or one configured)');
    const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/adopt`, { issuer: values.issuer, targets: values.target });
    out(`adopted ${body.certificateId}: renewed through ${body.issuer}${body.targets.length ? `, deployed to ${body.targets.join(', ')}` : ''}`, body);
  },
  async approve() {
    const id = positionals[1] ?? usage('approve needs a request id');
    const { body } = await call(client, 'POST', `/requests/${encodeURIComponent(id)}/approve`, { comment: values.comment });
    out(`${body.status}: request ${body.requestId}${body.certificateId ? `, certificate ${body.certificateId}` : ''}`, body);
  },
  async reject() {
    const id = positionals[1] ?? usage('reject needs a request id');
    const { body } = await call(client, 'POST', `/requests/${encodeURIComponent(id)}/reject`, { comment: values.comment });
    out(`${body.status}: request ${body.requestId}`, body);
  },
  async revoke() {
    const id = positionals[1];
    if (id) {
      const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/revoke`, { reason: values.reason });
      return out(`revoked ${body.certificateId} (${body.reason}) at ${body.revokedAt}`, body);
    }
    if (!values.issuer && !values.key) usage('revoke needs a certificate id, or --issuer DN or --key SPKI_SHA256');
    const { body } = await call(client, 'POST', '/revocations', { issuer: values.issuer, spkiSha256: values.key, reason: values.reason, dryRun: Boolean(values['dry-run']) });
    const list = (body.dryRun ? body.wouldRevoke : body.revoked) as { certificateId: string; subject: string }[];
    out([`${body.dryRun ? 'would revoke' : 'revoked'} ${list.length} certificates (${body.reason})`, ...list.map((c) => `  ${c.certificateId}  ${c.subject}`)].join('\n'), body);
  },
  async config() {
    const { human, data } = await configCommand(positionals.slice(1), values, client);
    out(human, data);
  },
  async renew() {
    const id = positionals[1] ?? usage('renew needs a certificate id');
    const { body } = await call(client, 'POST', `/certificates/${encodeURIComponent(id)}/renew`, {});
    out(`renewal started: ${body.executionName}`, body);
  },
};

/** A progress bar on stderr for long scans: `[#####.....] 120/254 endpoints`. */
function progressBar(total: number) {
  return (done: number, last = false) => {
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} endpoints${last ? '\n' : ''}`);
  };
}

// A reader that stops early (`| head -c 0`) closes the pipe: the output is no longer wanted, which is no error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main() {
  const command = positionals[0];
  if (values.help || !command) return out(HELP, { help: HELP });
  const run = commands[command] ?? usage(`unknown command ${command}`);
  await run();
}

main().catch((err) => {
  // A typed error (a bad configuration file at `serve`, say) is the user's to fix: its message
  // names the field and says enough. Anything else is a bug, and its stack is what a report needs.
  const told = err instanceof CliError || err instanceof ValidationError;
  process.stderr.write(`certops: ${printable(told ? err.message : String((err as Error).stack))}\n`);
  process.exit(err instanceof CliError ? err.exitCode : err instanceof ValidationError ? 2 : 1);
});
