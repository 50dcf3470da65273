// The dashboard's pages. Each reads the API (api.js) and renders with Preact and htm; charts are
// Chart.js, each with a table beside it that says the same in text (and is what a keyboard or a
// screen reader uses).
import { html, useEffect, useRef, useState } from './preact-htm.js';
import { api, openJson, query } from './api.js';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const day = (iso) => (iso ? iso.slice(0, 10) : '');
const link = (id, text) => html`<a href=${`#/certificates/${encodeURIComponent(id)}`}>${text ?? id}</a>`;

/** Loads `path` (again whenever it or `deps` change; nothing while it is undefined): [answer, error, reload]. */
function useApi(path, deps = []) {
  const [state, setState] = useState({});
  const latest = useRef(0);
  const load = () => {
    // Only the answer to the last request counts: an earlier, slower one must not overwrite it.
    const asked = ++latest.current;
    if (!path) return setState({});
    api('GET', path).then((answer) => asked === latest.current && setState({ answer }), (error) => asked === latest.current && setState({ error }));
  };
  useEffect(load, [path, ...deps]);
  return [state.answer, state.error, load];
}

function Problem({ error }) {
  return error ? html`<p class="problem" role="alert">${error.message}${error.field ? ` (field: ${error.field})` : ''}</p>` : null;
}

function JsonLink({ path }) {
  return html`<button type="button" class="json" onClick=${() => openJson(path)}>JSON</button>`;
}

/** Previous and next page over the API's nextToken: `tokens` is the stack of tokens of the pages seen. */
function Pager({ tokens, setTokens, next }) {
  return html`<div class="pager">
    <button type="button" disabled=${tokens.length === 1} onClick=${() => setTokens(tokens.slice(0, -1))}>Previous page</button>
    <button type="button" disabled=${!next} onClick=${() => setTokens([...tokens, next])}>Next page</button>
  </div>`;
}

function Heading({ title, path }) {
  return html`<div class="heading"><h1>${title}</h1>${path ? html`<${JsonLink} path=${path} />` : null}</div>`;
}

/** A Chart.js chart on a canvas, rebuilt when its data changes; `label` names it for assistive technology. */
const PALETTE = ['#2563eb', '#16a34a', '#ea580c', '#9333ea', '#dc2626', '#0891b2', '#65a30d', '#c026d3'];

function Chart({ type, labels, values, label, onPick, tooltip, horizontal, colors }) {
  const canvas = useRef();
  useEffect(() => {
    const chart = new window.Chart(canvas.current, {
      type,
      data: { labels, datasets: [{ label, data: values, backgroundColor: colors ?? (type === 'doughnut' ? PALETTE : PALETTE[0]) }] },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: horizontal ? 'y' : 'x',
        plugins: { legend: { display: type === 'doughnut' }, tooltip: tooltip ? { callbacks: { afterLabel: (item) => tooltip(item.dataIndex) } } : {} },
        onClick: onPick ? (_event, elements) => elements.length && onPick(elements[0].index) : undefined,
      },
    });
    return () => chart.destroy();
  }, [JSON.stringify(labels), JSON.stringify(values)]);
  return html`<div class="chart"><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}

/** Counts as a table, the largest first, or in `order` when the names have one (severities). */
function CountTable({ caption, counts, name, order }) {
  const rows = order ? order.map((k) => [k, counts?.[k] ?? 0]) : Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  return html`<table><caption>${caption}</caption><thead><tr><th scope="col">${name}</th><th scope="col">certificates</th></tr></thead>
    <tbody>${rows.map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`)}</tbody></table>`;
}

/** The overview: the inventory by environment, status and owner, the expiry timeline, CA usage, open findings and what renews next. */
export function Overview() {
  const [inventory, error] = useApi('/reports/inventory?format=json&rows=none');
  const [expiry] = useApi('/reports/expiry?format=json');
  const [pending] = useApi('/requests?pending=true&limit=100');
  const [readiness] = useApi('/reports/readiness?format=json');
  const [week, setWeek] = useState();
  if (error) return html`<${Problem} error=${error} />`;
  if (!inventory || !expiry) return html`<p class="loading">Loading…</p>`;
  const weeks = expiry.weeks;
  const chosen = week === undefined ? undefined : weeks[week];
  const next = weeks.flatMap((w) => w.certificates).slice(0, 10);
  const soon = expiry.expired.count + weeks.slice(0, 4).reduce((n, w) => n + w.count, 0);
  return html`
    <${Heading} title="Overview" path="/reports/inventory?format=json&rows=none" />
    <section class="cards" aria-label="At a glance">
      <div class="card"><span class="figure">${inventory.liveTotal}</span> certificates in use</div>
      <div class="card"><span class="figure">${soon}</span> expired or expiring within 4 weeks</div>
      <div class="card"><span class="figure">${(inventory.openFindingsBySeverity.critical ?? 0) + (inventory.openFindingsBySeverity.high ?? 0)}</span> critical or high findings</div>
      <div class="card"><a href="#/approvals"><span class="figure">${pending?.items.length ?? '…'}</span> requests waiting for approval</a></div>
    </section>
    <section aria-labelledby="timeline">
      <h2 id="timeline">Expiry timeline, by week</h2>
      <${Chart} type="bar" label="Certificates expiring per week" labels=${weeks.map((w) => `week ${w.week} (${day(w.from)})`)} values=${weeks.map((w) => w.count)}
        onPick=${setWeek} tooltip=${(i) => weeks[i].certificates.slice(0, 8).map((c) => c.commonName ?? c.id)} />
      <ul class="weeks">${weeks.filter((w) => w.count).map((w) => html`<li>
        <button type="button" aria-expanded=${chosen === w} onClick=${() => setWeek(weeks.indexOf(w))}>Week ${w.week} (from ${day(w.from)}): ${w.count} expiring</button></li>`)}</ul>
      ${chosen ? html`<table><caption>Expiring in week ${chosen.week} (${day(chosen.from)} to ${day(chosen.to)})</caption>
        <thead><tr><th scope="col">certificate</th><th scope="col">expires</th><th scope="col">owner</th><th scope="col">environment</th></tr></thead>
        <tbody>${chosen.certificates.map((c) => html`<tr><td>${link(c.id, c.commonName ?? c.id)}</td><td>${day(c.notAfter)}</td><td>${c.owner ?? ''}</td><td>${c.environment ?? ''}</td></tr>`)}</tbody></table>` : null}
      ${expiry.expired.count ? html`<p class="problem">${expiry.expired.count} expired and not replaced: <a href="#/certificates?status=expired">see them</a></p>` : null}
    </section>
    <div class="grid">
      <section aria-labelledby="by-env"><h2 id="by-env">By environment</h2>
        <${Chart} type="doughnut" label="Certificates in use by environment" labels=${Object.keys(inventory.byEnvironment)} values=${Object.values(inventory.byEnvironment)} />
        <${CountTable} caption="Certificates in use by environment" name="environment" counts=${inventory.byEnvironment} /></section>
      <section aria-labelledby="by-ca"><h2 id="by-ca">Certificate authority usage</h2>
        <${Chart} type="bar" horizontal label="Certificates in use by issuing CA" labels=${Object.keys(inventory.byIssuer).map((dn) => /^CN=([^,]+)/.exec(dn)?.[1] ?? dn)} values=${Object.values(inventory.byIssuer)} />
        <${CountTable} caption="Certificates in use by issuing CA" name="issuer" counts=${inventory.byIssuer} /></section>
      <section aria-labelledby="findings"><h2 id="findings">Open findings by severity</h2>
        <${Chart} type="bar" label="Open findings by severity" labels=${SEVERITIES} values=${SEVERITIES.map((s) => inventory.openFindingsBySeverity[s] ?? 0)} colors=${['#7f1d1d', '#b91c1c', '#d97706', '#2563eb', '#6b7280']} />
        <${CountTable} caption="Open findings by severity" name="severity" counts=${inventory.openFindingsBySeverity} order=${SEVERITIES} /></section>
      <section aria-labelledby="by-status"><h2 id="by-status">By status and owner</h2>
        <${CountTable} caption="All certificates by status" name="status" counts=${inventory.byStatus} />
        <${CountTable} caption="Certificates in use by owner" name="owner" counts=${inventory.byOwner} /></section>
    </div>
    ${readiness ? html`<section aria-labelledby="readiness"><h2 id="readiness">Ready for ${readiness.lifetimeDays}-day lifetimes</h2>
      <p>${readiness.ready} of ${readiness.inUse} end-entity certificates in use (CA certificates aside) renew with no one's hand; ${readiness.notReady} would need a person.</p>
      <table><caption>Why certificates would need a person</caption><thead><tr><th scope="col">reason</th><th scope="col">certificates</th><th scope="col">what it means</th></tr></thead>
        <tbody>${Object.entries(readiness.byReason).map(([k, r]) => html`<tr><td>${k}</td><td>${r.count}</td><td>${r.meaning}</td></tr>`)}</tbody></table></section>` : null}
    <section aria-labelledby="next"><h2 id="next">What expires next</h2>
      <table><caption>The next certificates to expire (renewed automatically when certops issued or adopted them)</caption>
        <thead><tr><th scope="col">certificate</th><th scope="col">expires</th><th scope="col">owner</th></tr></thead>
        <tbody>${next.map((c) => html`<tr><td>${link(c.id, c.commonName ?? c.id)}</td><td>${day(c.notAfter)}</td><td>${c.owner ?? ''}</td></tr>`)}</tbody></table></section>`;
}

const FILTERS = [['domain', 'Domain'], ['environment', 'Environment'], ['owner', 'Owner'], ['status', 'Status'], ['issuer', 'Issuer DN'], ['expiringWithinDays', 'Expiring within (days)']];
const SORTS = [['newest', 'Newest first'], ['oldest', 'Oldest first'], ['expiry', 'Expiring soonest first (in use)'], ['-expiry', 'Expiring latest first (in use)']];

/** The inventory, filtered, sorted and paged by the API (GET /certificates). */
export function Certificates({ params }) {
  const [filter, setFilter] = useState(Object.fromEntries([...FILTERS, ['sort']].map(([k]) => [k, params.get(k) ?? ''])));
  const [tokens, setTokens] = useState([undefined]);
  const path = `/certificates${query({ ...filter, limit: 25, nextToken: tokens.at(-1) })}`;
  const [page, error] = useApi(path);
  const choose = (chosen) => {
    setFilter(chosen);
    setTokens([undefined]);
  };
  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    choose(Object.fromEntries([...FILTERS, ['sort']].map(([k]) => [k, form.get(k)])));
  };
  // The expiry column sorts on the server: soonest first, then latest first.
  const byExpiry = () => choose({ ...filter, sort: filter.sort === 'expiry' ? '-expiry' : 'expiry' });
  const expirySort = filter.sort === 'expiry' ? 'ascending' : filter.sort === '-expiry' ? 'descending' : undefined;
  return html`
    <${Heading} title="Certificates" path=${path} />
    <form class="filters" onSubmit=${submit}>
      ${FILTERS.map(([k, label]) => html`<label>${label} <input name=${k} defaultValue=${filter[k]} /></label>`)}
      <label>Order <select name="sort" value=${filter.sort || 'newest'}>${SORTS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select></label>
      <button type="submit">Filter</button>
    </form>
    <${Problem} error=${error} />
    ${page ? html`<table><caption>Certificates, page ${tokens.length}</caption>
      <thead><tr><th scope="col">certificate</th><th scope="col">status</th>
        <th scope="col" aria-sort=${expirySort}><button type="button" class="json" onClick=${byExpiry}>expires${expirySort === 'ascending' ? ' ▲' : expirySort === 'descending' ? ' ▼' : ''}</button></th>
        <th scope="col">owner</th><th scope="col">environment</th><th scope="col">findings</th></tr></thead>
      <tbody>${page.items.map((c) => html`<tr><td>${link(c.id, c.commonName ?? c.subject)}</td><td>${c.status}</td><td>${day(c.notAfter)}</td><td>${c.owner ?? ''}</td><td>${c.environment ?? ''}</td>
        <td>${c.findings.map((f) => html`<span class=${`severity ${f.severity}`}>${f.id}</span> `)}</td></tr>`)}</tbody></table>
      <${Pager} tokens=${tokens} setTokens=${setTokens} next=${page.nextToken} />` : null}`;
}

/** One certificate: what it is, its findings, where it is served and deployed, its history and lineage. */
export function Certificate({ id }) {
  const path = `/certificates/${encodeURIComponent(id)}`;
  const [c, error, reload] = useApi(path);
  const running = c ? runningRenewal(c) : undefined;
  // The page follows the certificate while it is in view: a renewal started elsewhere shows within
  // seconds, and while one runs its steps appear as the saga records them. An answer that is an
  // error (token gone, certificate gone, too many calls) stops it.
  useEffect(() => {
    if (error) return undefined;
    const timer = setInterval(() => document.hidden || reload(), running ? 1000 : 5000);
    return () => clearInterval(timer);
  }, [running?.attempt, path, error]);
  if (error) return html`<${Problem} error=${error} />`;
  if (!c) return html`<p class="loading">Loading…</p>`;
  const deployments = Object.values(Object.fromEntries(c.deployments.map((d) => [d.target, d])));
  const renewals = c.history.filter((h) => h.kind === 'renewal');
  return html`
    <${Heading} title=${c.commonName ?? c.subject} path=${path} />
    <dl class="facts">
      <dt>Status</dt><dd>${c.status} (${c.source})</dd>
      <dt>Names</dt><dd>${c.subjectAlternativeNames.join(', ')}</dd>
      <dt>Valid</dt><dd>${c.notBefore} to ${c.notAfter}</dd>
      <dt>Issuer</dt><dd>${c.issuer}${c.issuerBackend ? ` (through ${c.issuerBackend})` : ''}</dd>
      <dt>Owner</dt><dd>${c.owner ?? '-'}</dd>
      <dt>Environment</dt><dd>${c.environment ?? '-'}</dd>
      <dt>Serial</dt><dd class="mono">${c.serialNumber}</dd>
      <dt>Key</dt><dd>${c.keyAlgorithm}, signed ${c.signatureAlgorithm}</dd>
      <dt>Revocation</dt><dd>${c.revokedAt ? `revoked at ${c.revokedAt} (${c.revocationReason})` : c.revocation?.status ?? 'not checked'}</dd>
      <dt>Renewal</dt><dd><span role="status">${running ? `running (${running.attempt}): ${running.step}` : c.renewalDueAt ? `due from ${c.renewalDueAt} (${c.renewalDueSource === 'ca-ari' ? 'the CA\'s renewal window, ARI' : 'default window'})` : '-'}</span></dd>
      <dt>Predecessor</dt><dd>${c.renewalOf ? link(c.renewalOf) : '-'}</dd>
      <dt>Successor</dt><dd>${c.supersededBy ? link(c.supersededBy) : '-'}</dd>
    </dl>
    <h2>Findings</h2>
    ${c.findings.length ? html`<table><caption>Open findings</caption><thead><tr><th scope="col">severity</th><th scope="col">finding</th><th scope="col">what it means</th></tr></thead>
      <tbody>${c.findings.map((f) => html`<tr><td><span class=${`severity ${f.severity}`}>${f.severity}</span></td><td>${f.id}</td><td>${f.message}</td></tr>`)}</tbody></table>` : html`<p>None.</p>`}
    <h2>Where it is served</h2>
    ${c.endpoints.length ? html`<table><caption>Endpoints seen serving it</caption><thead><tr><th scope="col">endpoint</th><th scope="col">protocol</th><th scope="col">last seen</th></tr></thead>
      <tbody>${c.endpoints.map((e) => html`<tr><td>${e.host}:${e.port}</td><td>${e.protocol ?? ''}</td><td>${e.lastSeen}</td></tr>`)}</tbody></table>` : html`<p>No scan has seen it served.</p>`}
    <h2>Deployments</h2>
    ${deployments.length ? html`<table><caption>The last deployment to each target</caption><thead><tr><th scope="col">target</th><th scope="col">outcome</th><th scope="col">at</th><th scope="col">detail</th></tr></thead>
      <tbody>${deployments.map((d) => html`<tr><td>${d.target}</td><td>${d.outcome}</td><td>${d.at}</td><td>${d.detail ?? ''}</td></tr>`)}</tbody></table>` : html`<p>Not deployed by certops${c.targets.length ? ` yet (targets: ${c.targets.join(', ')})` : ''}.</p>`}
    <h2>Renewal steps and history</h2>
    ${c.history.length ? html`<table><caption>Everything done to it, oldest first${renewals.length ? `, ${renewals.length} renewal steps` : ''}</caption><thead><tr><th scope="col">at</th><th scope="col">what</th><th scope="col">outcome</th><th scope="col">detail</th></tr></thead>
      <tbody>${c.history.map((h) => html`<tr><td>${h.at}</td><td>${h.kind}${h.target ? ` to ${h.target}` : ''}</td><td>${h.outcome}</td><td>${h.detail ?? ''}</td></tr>`)}</tbody></table>` : html`<p>Nothing yet.</p>`}
    <details><summary>Certificate and chain (PEM)</summary><pre>${c.certificatePem}${c.chainPem}</pre></details>`;
}

/**
 * The renewal under way, if one is: the saga that has started and not yet succeeded, failed or
 * rolled back (by its history), or that holds the certificate between issuing the successor and
 * committing; with its last recorded step.
 */
function runningRenewal(c) {
  const attempts = new Map();
  for (const h of c.history) if (h.kind === 'renewal' || h.attempt === c.pendingRenewal?.executionName) attempts.set(h.attempt, [...(attempts.get(h.attempt) ?? []), h]);
  const open = [...attempts].find(([, steps]) => steps.some((h) => h.outcome === 'started') && !steps.some((h) => h.kind === 'renewal' && h.outcome !== 'started'));
  const attempt = open?.[0] ?? (c.pendingRenewal && !c.supersededBy ? c.pendingRenewal.executionName : undefined);
  if (!attempt) return undefined;
  const last = (attempts.get(attempt) ?? []).at(-1);
  return { attempt, step: last ? `${last.kind}${last.target ? ` to ${last.target}` : ''} ${last.outcome}${last.detail ? ` (${last.detail})` : ''}` : 'started' };
}

/** Requests waiting for an approver; approve or reject with a comment (the API refuses the requester). */
export function Approvals() {
  const [tokens, setTokens] = useState([undefined]);
  const path = `/requests${query({ pending: 'true', limit: 25, nextToken: tokens.at(-1) })}`;
  const [page, error, reload] = useApi(path);
  const [said, setSaid] = useState();
  const decide = (requestId, decision) => async (event) => {
    const comment = event.target.closest('form').elements.comment.value;
    try {
      const answer = await api('POST', `/requests/${encodeURIComponent(requestId)}/${decision}`, { comment });
      setSaid({ ok: `${requestId}: ${answer.status}${answer.certificateId ? `, certificate ${answer.certificateId}` : ''}`, certificateId: answer.certificateId });
      reload();
    } catch (err) {
      setSaid({ error: err });
    }
  };
  return html`
    <${Heading} title="Approvals" path=${path} />
    ${said?.ok ? html`<p class="done" role="status">${said.ok}${said.certificateId ? html` (${link(said.certificateId, 'open it')})` : null}</p>` : null}
    <${Problem} error=${said?.error ?? error} />
    ${page && !page.items.length ? html`<p>Nothing waits for approval.</p>` : null}
    ${page?.items.map((r) => html`<form class="request" onSubmit=${(e) => e.preventDefault()} aria-label=${`request ${r.requestId}`}>
      <h2>${r.subjectAlternativeNames.join(', ')}</h2>
      <p>Asked by <strong>${r.requestedBy}</strong> at ${r.createdAt}; lapses ${r.expiresAt}. Issuer ${r.issuer}, ${r.validityDays} days${r.owner ? `, owner ${r.owner}` : ''}${r.environment ? `, ${r.environment}` : ''}${r.targets?.length ? `; to be deployed to ${r.targets.join(', ')}` : ''}.</p>
      <ul>${r.reasons.map((reason) => html`<li>${reason}</li>`)}</ul>
      <label>Comment <input name="comment" /></label>
      <button type="button" onClick=${decide(r.requestId, 'approve')}>Approve</button>
      <button type="button" class="secondary" onClick=${decide(r.requestId, 'reject')}>Reject</button>
    </form>`)}
    ${page ? html`<${Pager} tokens=${tokens} setTokens=${setTokens} next=${page.nextToken} />` : null}`;
}

/** Certificates on watched domains seen in CT logs and not issued here, open ones first asked of the API, paged there; authorize the known ones. */
export function CtFindings() {
  const [status, setStatus] = useState('open');
  const [tokens, setTokens] = useState([undefined]);
  const path = `/ct/findings${query({ status, limit: 25, nextToken: tokens.at(-1) })}`;
  const [page, error, reload] = useApi(path);
  const [problem, setProblem] = useState();
  const authorize = (id) => () => api('POST', `/ct/findings/${encodeURIComponent(id)}/authorize`, {}).then(reload, setProblem);
  const show = (event) => {
    setStatus(event.target.value);
    setTokens([undefined]);
  };
  return html`
    <${Heading} title="CT findings" path=${path} />
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>Show <select value=${status} onChange=${show}><option value="open">open findings</option><option value="authorized">authorized findings</option><option value="">all findings</option></select></label>
    </form>
    <${Problem} error=${problem ?? error} />
    ${page ? html`<table><caption>Certificates for watched domains that certops did not issue, page ${tokens.length}</caption>
      <thead><tr><th scope="col">names</th><th scope="col">severity</th><th scope="col">status</th><th scope="col">issuer</th><th scope="col">seen</th><th scope="col">log entry</th><th scope="col"><span class="sr-only">action</span></th></tr></thead>
      <tbody>${page.items.map((f) => html`<tr><td>${f.names.join(', ')}</td><td><span class=${`severity ${f.severity}`}>${f.severity}</span></td><td>${f.status}</td><td>${f.issuer ?? ''}</td><td>${f.firstSeen}</td><td>${f.entryType} #${f.index} of ${f.logUrl}</td>
        <td>${f.status === 'open' ? html`<button type="button" onClick=${authorize(f.id)}>Authorize</button>` : ''}</td></tr>`)}</tbody></table>
      <${Pager} tokens=${tokens} setTokens=${setTokens} next=${page.nextToken} />` : null}`;
}

/** The audit trail, verified, newest page first. */
export function Audit() {
  const [verdict, verifyError] = useApi('/audit/verify');
  const [type, setType] = useState('');
  const [tokens, setTokens] = useState([undefined]);
  const path = `/events${query({ type, limit: 50, nextToken: tokens.at(-1) })}`;
  const [page, error] = useApi(path);
  const submit = (event) => {
    event.preventDefault();
    setType(new FormData(event.target).get('type').trim());
    setTokens([undefined]);
  };
  return html`
    <${Heading} title="Audit trail" path=${path} />
    <form class="filters" onSubmit=${submit}>
      <label>Event type <input name="type" defaultValue=${type} placeholder="certificate.revoked" /></label>
      <button type="submit">Filter</button>
    </form>
    ${verdict ? html`<p class=${verdict.valid ? 'done' : 'problem'} role="status">${verdict.valid ? `The hash chain is intact: ${verdict.records} records.` : `The hash chain is broken: ${verdict.problem.message}`}</p>` : null}
    <${Problem} error=${verifyError ?? error} />
    ${page ? html`<table><caption>Audit records, page ${tokens.length}</caption>
      <thead><tr><th scope="col">#</th><th scope="col">at</th><th scope="col">event</th><th scope="col">from</th><th scope="col">certificate</th></tr></thead>
      <tbody>${page.items.map((r) => html`<tr><td>${r.seq}</td><td>${r.time ?? r.detail?.occurredAt ?? ''}</td><td>${r.detailType}</td><td>${r.source}</td><td>${r.certificateId ? link(r.certificateId) : ''}</td></tr>`)}</tbody></table>
      <${Pager} tokens=${tokens} setTokens=${setTokens} next=${page.nextToken} />` : null}`;
}

/** What the SIEM sinks and the consumers could not deliver. */
export function Delivery() {
  const [sinks, sinksError] = useApi('/siem/sinks');
  const [siem, siemError] = useApi('/siem/dead-letters');
  const [queues, queueError] = useApi('/dead-letters');
  return html`
    <${Heading} title="SIEM and delivery" path="/siem/sinks" />
    <h2>SIEM sinks</h2>
    <${Problem} error=${sinksError ?? siemError} />
    ${sinks ? html`<table><caption>Each sink's health</caption><thead><tr><th scope="col">sink</th><th scope="col">type</th><th scope="col">format</th><th scope="col">state</th><th scope="col">queued</th><th scope="col">last error</th><th scope="col">dead letters</th></tr></thead>
      <tbody>${sinks.items.map((s) => html`<tr><td>${s.name}</td><td>${s.type}</td><td>${s.format}</td><td>${s.state}${s.pausedUntil ? ` until ${s.pausedUntil}` : ''}</td><td>${s.queued}${s.oldestQueuedAt ? ` (oldest ${s.oldestQueuedAt})` : ''}</td><td>${s.lastError ?? ''}</td><td>${s.deadLetters}</td></tr>`)}</tbody></table>` : null}
    ${siem ? (siem.items.length ? html`<table><caption>Events a sink kept refusing</caption><thead><tr><th scope="col">sink</th><th scope="col">event</th><th scope="col">attempts</th><th scope="col">last error</th></tr></thead>
      <tbody>${siem.items.map((l) => html`<tr><td>${l.sink}</td><td>${l.id}</td><td>${l.attempts}</td><td>${l.lastError ?? ''}</td></tr>`)}</tbody></table>` : html`<p class="done">Every sink is taking events: no dead letters.</p>`) : null}
    <h2>Consumers' dead-letter queues</h2>
    <${Problem} error=${queueError} />
    ${queues ? html`<table><caption>Events a consumer kept failing</caption><thead><tr><th scope="col">consumer</th><th scope="col">dead letters</th></tr></thead>
      <tbody>${queues.queues.map((q) => html`<tr><td>${q.consumer}</td><td>${q.approximateCount}</td></tr>`)}</tbody></table>` : null}`;
}

/** Scans, newest first; one scan's endpoints as a grid, each with what it serves and what is wrong there (paged by the API). */
export function Scans({ params }) {
  const scanId = params.get('scan');
  const [listTokens, setListTokens] = useState([undefined]);
  const listPath = `/scans${query({ limit: 25, nextToken: listTokens.at(-1) })}`;
  const [list, listError] = useApi(listPath);
  const [tokens, setTokens] = useState([undefined]);
  const path = scanId ? `/scans/${encodeURIComponent(scanId)}${query({ limit: 100, nextToken: tokens.at(-1) })}` : undefined;
  const [scan, scanError] = useApi(path);
  const choose = (id) => {
    setTokens([undefined]);
    location.hash = `#/scans?scan=${encodeURIComponent(id)}`;
  };
  const worst = (e) => SEVERITIES.find((s) => [...(e.findings ?? []), ...(e.certificateFindings ?? [])].some((f) => f.severity === s));
  return html`
    <${Heading} title="Scans" path=${path ?? listPath} />
    <${Problem} error=${listError ?? scanError} />
    ${list ? html`<table><caption>Scans, the newest first</caption>
      <thead><tr><th scope="col">scan</th><th scope="col">started</th><th scope="col">by</th><th scope="col">targets</th><th scope="col">status</th><th scope="col">endpoints</th><th scope="col">certificates</th></tr></thead>
      <tbody>${list.items.map((s) => html`<tr><td><button type="button" class="json" aria-pressed=${s.scanId === scanId} onClick=${() => choose(s.scanId)}>${s.scanId}</button></td><td>${s.startedAt}</td><td>${s.requestedBy}</td>
        <td>${s.targets.join(', ')}</td><td>${s.status}</td><td>${s.done} of ${s.total}</td><td>${s.counts ? `${s.counts.certificates} (${s.counts.newCertificates} new)` : ''}</td></tr>`)}</tbody></table>
      <${Pager} tokens=${listTokens} setTokens=${setListTokens} next=${list.nextToken} />` : null}
    ${scan ? html`<h2>Endpoints of ${scan.scanId}</h2>
      <ul class="grid-cells" aria-label=${`endpoints of ${scan.scanId}`}>${scan.endpoints.map((e) => html`<li class=${`cell ${e.error ? 'silent' : worst(e) ?? 'clean'}`}>
        <strong>${e.host}:${e.port}</strong>
        ${e.error ? html`<span>${e.error}</span>` : html`<span>${link(e.certificateId, e.subject ?? e.certificateId)}</span><span>${e.protocol ?? ''}</span>
          ${[...e.findings, ...(e.certificateFindings ?? [])].map((f) => html`<span class=${`severity ${f.severity}`}>${f.id}</span> `)}`}
      </li>`)}</ul>
      <${Pager} tokens=${tokens} setTokens=${setTokens} next=${scan.nextToken} />` : null}`;
}
