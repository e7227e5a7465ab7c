// api.js — calls to the lynxprof endpoints from the /profiling page.
//
// Every URL is relative to the page (served at <prefix>/profiling/), so the
// page also works when nginx puts everything under a sub-path.  Every error
// the server returns is JSON {"error": "..."}; it is thrown as an ApiError
// carrying that message and the status, and the page shows it as it is.

import { dispositionFilename } from './format.js';

export const API = '../api/v1/profiling/';
export const DEBUG = '../debug/pprof/';

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body || null;
  }
}

function withQuery(url, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  if (!s) return url;
  return url + (url.includes('?') ? '&' : '?') + s;
}

async function errorFrom(r) {
  let body = null;
  let text = '';
  try {
    text = await r.text();
    body = JSON.parse(text);
  } catch (e) { /* not JSON */ }
  let msg = body && typeof body.error === 'string' ? body.error : '';
  if (!msg) msg = text && text.length < 200 && !/<html/i.test(text) ? text.trim() : '';
  if (!msg) msg = `${r.status} ${r.statusText || 'error'}`.trim();
  return new ApiError(msg, r.status, body);
}

/**
 * Fetch JSON.  Throws ApiError with the server's message on a 4xx/5xx, and
 * an ApiError with status 0 when the network fails.
 */
export async function requestJSON(url, { method = 'GET', params, signal } = {}) {
  let r;
  try {
    r = await fetch(withQuery(url, params), {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { Accept: 'application/json' },
      signal,
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(`network error: ${e && e.message ? e.message : e}`, 0);
  }
  if (!r.ok) throw await errorFrom(r);
  try {
    return await r.json();
  } catch (e) {
    throw new ApiError(`bad JSON from ${url.replace(/\?.*/, '')}`, r.status);
  }
}

/**
 * Fetch a file and hand it to the browser as a download (so that an error
 * reply becomes a message on the page, not a saved error file).
 * @returns {Promise<{filename: string, size: number}>}
 */
export async function download(url, params, fallbackName, doc = document) {
  let r;
  try {
    r = await fetch(withQuery(url, params), { credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(`network error: ${e && e.message ? e.message : e}`, 0);
  }
  if (!r.ok) throw await errorFrom(r);
  const blob = await r.blob();
  const filename = dispositionFilename(r.headers.get('Content-Disposition')) || fallbackName;
  saveBlob(blob, filename, doc);
  return { filename, size: blob.size };
}

/** Save a Blob (or text) under a file name through a temporary link. */
export function saveBlob(blob, filename, doc = document) {
  const b = blob instanceof Blob ? blob : new Blob([blob], { type: 'text/plain' });
  const a = doc.createElement('a');
  a.href = URL.createObjectURL(b);
  a.download = filename;
  a.style.display = 'none';
  doc.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

export const api = {
  targets: () => requestJSON(API + 'targets'),
  memory: (target, signal) => requestJSON(API + 'memory', { params: { target }, signal }),
  cpuStart: (target, duration, hz) => requestJSON(API + 'cpu/start', { method: 'POST', params: { duration, hz, target } }),
  cpuStatus: (id) => requestJSON(API + 'cpu/status/' + encodeURIComponent(id)),
  cpuSessions: (target) => requestJSON(API + 'cpu/sessions', { params: { target } }),
  cpuStop: (id) => requestJSON(API + 'cpu/stop/' + encodeURIComponent(id), { method: 'POST' }),
  cpuDelete: (id) => requestJSON(API + 'cpu/sessions/' + encodeURIComponent(id), { method: 'DELETE' }),
  cpuFlame: (id, tagfocus) => requestJSON(API + 'cpu/flame/' + encodeURIComponent(id),
    { params: tagfocus ? { tagfocus } : {} }),
  cpuDownload: (id) => download(API + 'cpu/download/' + encodeURIComponent(id), null, id + '.pprof'),
  flame: (type, target, extra) => requestJSON(API + 'flame', { params: { type, target, ...extra } }),
};

/** Download a non-CPU profile kind; `extra` adds query parameters
 * (running_only for goroutine; seconds for block and mutex: the window in
 * which lock contention is recorded). */
export function profileDownload(kind, target, extra) {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  switch (kind) {
    case 'heap': return download(API + 'heap', { target }, `heap_${stamp}.pprof`);
    case 'goroutine': return download(API + 'goroutine', { target, ...extra }, `goroutine_${stamp}.pprof`);
    default: return download(DEBUG + kind, { target, ...extra }, `${kind}_${stamp}.pprof`);
  }
}
