// The dashboard's shell: login with an API token, navigation, and a page per location hash.
import { html, render, useEffect, useState } from './preact-htm.js';
import { api, token } from './api.js';
import { Approvals, Audit, Certificate, Certificates, CtFindings, Delivery, Overview, Scans } from './views.js';

const PAGES = [['#/', 'Overview'], ['#/certificates', 'Certificates'], ['#/approvals', 'Approvals'], ['#/scans', 'Scans'], ['#/ct', 'CT findings'], ['#/audit', 'Audit trail'], ['#/delivery', 'SIEM and delivery']];

function route(hash) {
  const [path, search] = (hash || '#/').split('?');
  const params = new URLSearchParams(search);
  const certificate = /^#\/certificates\/(.+)$/.exec(path);
  if (certificate) {
    let id;
    try {
      id = decodeURIComponent(certificate[1]);
    } catch {
      return html`<p class="problem" role="alert">That address names no certificate.</p>`;
    }
    return html`<${Certificate} id=${id} />`;
  }
  switch (path) {
    case '#/certificates': return html`<${Certificates} params=${params} />`;
    case '#/approvals': return html`<${Approvals} />`;
    case '#/scans': return html`<${Scans} params=${params} />`;
    case '#/ct': return html`<${CtFindings} />`;
    case '#/audit': return html`<${Audit} />`;
    case '#/delivery': return html`<${Delivery} />`;
    default: return html`<${Overview} />`;
  }
}

function Login({ onIn }) {
  const [problem, setProblem] = useState();
  const submit = async (event) => {
    event.preventDefault();
    token.set(new FormData(event.target).get('token').trim());
    try {
      await api('GET', '/certificates?limit=1');
      onIn();
    } catch (err) {
      token.clear();
      setProblem(err.status === 401 ? 'That token is not valid (expired, revoked or mistyped).' : err.message);
    }
  };
  return html`<main class="login">
    <h1>certops</h1>
    <form onSubmit=${submit}>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required />
      <button type="submit">Log in</button>
      ${problem ? html`<p class="problem" role="alert">${problem}</p>` : null}
    </form>
    <p>An admin mints tokens with <code>certops token create --role viewer --name YOU</code>; the local suite's admin token is in <code>.certops/admin.token</code>.</p>
  </main>`;
}

function App() {
  const [hash, setHash] = useState(location.hash);
  const [signedIn, setSignedIn] = useState(Boolean(token.get()));
  useEffect(() => {
    const onHash = () => setHash(location.hash);
    const onUnauthorized = () => (token.clear(), setSignedIn(false));
    addEventListener('hashchange', onHash);
    addEventListener('certops:unauthorized', onUnauthorized);
    return () => (removeEventListener('hashchange', onHash), removeEventListener('certops:unauthorized', onUnauthorized));
  }, []);
  if (!signedIn) return html`<${Login} onIn=${() => setSignedIn(true)} />`;
  const current = (hash || '#/').split('?')[0];
  return html`
    <header><a class="brand" href="#/">certops</a>
      <nav aria-label="Pages"><ul>${PAGES.map(([href, name]) => html`<li><a href=${href} aria-current=${current === href || (href !== '#/' && current.startsWith(href)) ? 'page' : undefined}>${name}</a></li>`)}</ul></nav>
      <button type="button" class="secondary" onClick=${() => (token.clear(), setSignedIn(false))}>Log out</button>
    </header>
    <main>${route(hash)}</main>`;
}

const root = document.getElementById('app');
root.replaceChildren();
render(html`<${App} />`, root);
