// The dashboard's only way to data: the certops API on this origin, with the token the user
// gave at login (kept in this tab's sessionStorage, never in a cookie or the URL).
const KEY = 'certops.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An API error as CONTRACT.md shapes it: status, code, message and the field it names. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
    this.field = error?.field;
  }
}

/** Calls the API; resolves with the JSON answer, rejects with ApiError. */
export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token.get() ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  // A token that stopped working (expired, revoked) sends the user back to the login.
  if (res.status === 401) dispatchEvent(new Event('certops:unauthorized'));
  if (!res.ok) throw new ApiError(res.status, answer.error);
  return answer;
}

/** Opens the API's JSON for `path` in a new tab (fetched with the token: a plain link would carry none). */
export async function openJson(path) {
  const answer = await api('GET', path);
  const url = URL.createObjectURL(new Blob([JSON.stringify(answer, null, 2)], { type: 'application/json' }));
  window.open(url, '_blank', 'noopener');
}

/** A query string from the values that are set. */
export function query(values) {
  const q = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== undefined && v !== ''));
  return q.size ? `?${q}` : '';
}
