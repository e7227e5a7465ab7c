// cross-origin.test.mjs — a page of another origin tries to make a browser
// that holds the profiler's basic-auth credentials start, stop and delete
// CPU sessions (CSRF), in headless Chromium against the real stack started
// by run.sh.  The other origin is a second nginx server of that stack on
// another port; it is tried as http://127.0.0.1:PORT (same site for the
// browser: Sec-Fetch-Site "same-site") and as http://localhost:PORT
// (Sec-Fetch-Site "cross-site").  Each origin tries <img src>, form POSTs
// (into a frame, and as a top-level navigation) and fetch(...,
// {credentials: 'include'}) against start, stop and delete.  Afterwards,
// through the API: no session was started, stopped or removed.  nginx's
// access log shows how each attempt arrived: none succeeded; Chromium keeps
// the login from cross-site subresources (401), but sends it with the
// same-site ones and with a top-level form POST, which lynxprof refuses
// (403, or 405 for a GET that never acts), so the refusal is tested as
// lynxprof's own.
//
// Environment: LYNXPROF_URL, LYNXPROF_USER, LYNXPROF_PASSWORD, LYNXPROF_DEMO,
// LYNXPROF_OTHER_PORT (the second server), LYNXPROF_OTHER_DIR (its root,
// where this test writes its pages), LYNXPROF_ACCESS_LOG (nginx's).

import fs from 'node:fs';
import path from 'node:path';
import { launch, createRunner, assert, until } from './harness.mjs';

const BASE = process.env.LYNXPROF_URL || 'http://127.0.0.1:19080';
const USER = process.env.LYNXPROF_USER || 'tester';
const PASSWORD = process.env.LYNXPROF_PASSWORD || 's3cret-pw';
const DEMO = process.env.LYNXPROF_DEMO || 'lynx-demo';
const OTHER_PORT = process.env.LYNXPROF_OTHER_PORT || '19090';
const OTHER_DIR = process.env.LYNXPROF_OTHER_DIR;
const ACCESS_LOG = process.env.LYNXPROF_ACCESS_LOG;
const API = `${BASE}/api/v1/profiling/`;

const t = createRunner('cross-origin');
const b = await launch({ httpCredentials: { username: USER, password: PASSWORD } });
const { page, context } = b;
const req = context.request; // Playwright's own client: no browser headers

async function apiJSON(method, p) {
  const r = await req.fetch(API + p, { method });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status(), body };
}
const sessions = async () => (await apiJSON('GET', `cpu/sessions?target=${DEMO}`)).body.sessions;
const logLines = () => fs.readFileSync(ACCESS_LOG, 'utf8').split('\n');

// The attacker's page: every kind of request at once, then "done".
function attackPage(name, attempts) {
  const html = `<!doctype html><meta charset="utf-8"><title>${name}</title>
<style>body{font:14px sans-serif} li{margin:4px}</style>
<h1>${name}</h1><ul id="out"></ul>
${attempts.filter((a) => a.kind === 'form').map((a, i) =>
    `<iframe name="f${i}" style="width:600px;height:60px"></iframe>
<form class="auto" method="post" target="f${i}" action="${a.url}"><input name="x" value="1"></form>`).join('\n')}
${attempts.filter((a) => a.kind === 'navform').map((a) =>
    `<form id="navform" method="post" action="${a.url}"><button>a harmless button</button></form>`).join('\n')}
<script>
const out = (s) => { const li = document.createElement('li'); li.textContent = s; document.getElementById('out').append(li); };
const jobs = [];
${JSON.stringify(attempts)}.forEach((a, i) => {
  if (a.kind === 'img') {
    jobs.push(new Promise((res) => { const im = new Image(); im.onload = im.onerror = () => { out('img ' + a.url); res(); }; im.src = a.url; }));
  } else if (a.kind === 'fetch') {
    jobs.push(fetch(a.url, { method: a.method, credentials: 'include', mode: a.mode })
      .then((r) => out('fetch ' + a.method + ' ' + a.url + ' -> ' + r.type + ' ' + r.status),
            (e) => out('fetch ' + a.method + ' ' + a.url + ' -> ' + e)));
  }
});
document.querySelectorAll('form.auto').forEach((f) => {
  const frame = document.getElementsByName(f.target)[0];
  jobs.push(new Promise((res) => { frame.onload = () => { out('form POST ' + f.action); res(); }; }));
  f.submit();
});
Promise.all(jobs).then(() => { document.body.dataset.done = '1'; });
</script>`;
  fs.writeFileSync(path.join(OTHER_DIR, `${name}.html`), html);
  fs.chmodSync(path.join(OTHER_DIR, `${name}.html`), 0o644);
}

async function attack(origin, name, attempts) {
  attackPage(name, attempts);
  await page.goto(`${origin}/${name}.html`);
  await page.waitForSelector('body[data-done="1"]', { timeout: 15000 });
  await t.shot(page, name);
  if (attempts.some((a) => a.kind === 'navform')) {
    // The top-level form POST: the browser leaves the page for the answer.
    const [r] = await Promise.all([
      page.waitForNavigation(),
      page.evaluate(() => document.getElementById('navform').submit()),
    ]);
    await t.shot(page, `${name}-navigated`);
    return r;
  }
  return null;
}

// What nginx logged for url since line `from`: "user status" per request
// whose URL is the given path (and query).
function logged(from, url) {
  const p = url.slice(url.indexOf('/api/'));
  return logLines().slice(from).filter((l) => l.includes(` ${p} HTTP/`))
    .map((l) => { const m = l.match(/^\S+ - (\S+) .*" (\d{3}) /); return m ? `${m[1]} ${m[2]}` : l; });
}

// Every attempt arrived and none succeeded: answered 401 (the browser kept
// the login) or, with the login, 403 / 405 (lynxprof refused).  The
// top-level form POST must have carried the login and got 403.  Returns
// the counts, e.g. {"- 401": 3, "browser 403": 2}.  Attempts that share a
// URL are counted together: at least one log line each.
function assertRefused(from, attempts) {
  const bad = [];
  const counts = {};
  const byUrl = new Map();
  for (const a of attempts) {
    if (a.kind === 'fetch' && a.mode === 'cors' && a.method === 'DELETE') continue; // checked apart
    byUrl.set(a.url, [...(byUrl.get(a.url) || []), a]);
  }
  for (const [url, group] of byUrl) {
    const seen = logged(from, url);
    for (const s of seen) counts[s] = (counts[s] || 0) + 1;
    const ok = seen.length >= group.length &&
      seen.every((s) => s === '- 401' || s === `${USER} 403` || s === `${USER} 405`);
    const nav = group.every((a) => a.kind !== 'navform') || seen.includes(`${USER} 403`);
    if (!ok || !nav) bad.push(`${group.map((a) => `${a.kind} ${a.method || ''}`).join(', ')} ${url}: ${JSON.stringify(seen)}`);
  }
  assert(bad.length === 0, `not refused as expected:\n${bad.join('\n')}`);
  console.log(`#   nginx saw: ${JSON.stringify(counts)}`);
  return counts;
}

const origins = [
  { origin: `http://127.0.0.1:${OTHER_PORT}`, label: 'same-site' },
  { origin: `http://localhost:${OTHER_PORT}`, label: 'cross-site' },
];

let ready = false;
await t.check('the browser holds the login (an authenticated visit of the page)', async () => {
  const r = await page.goto(`${BASE}/profiling/`);
  assert(r && r.status() === 200, `GET /profiling/ answered ${r && r.status()}`);
  // Nothing running, one finished session to be deleted later.
  const s = await apiJSON('POST', `cpu/start?duration=1s&target=${DEMO}`);
  assert(s.status === 200, `start: ${s.status} ${JSON.stringify(s.body)}`);
  await until(async () => (await apiJSON('GET', `cpu/status/${s.body.session_id}`)).body.done,
    { timeout: 10000, what: 'the first session to end' });
  ready = true;
});

for (const { origin, label } of origins) {
  await t.check(`${label} page (${origin}): start by img, form POST and fetch does nothing`, async () => {
    assert(ready, 'setup failed');
    const before = await sessions();
    const from = logLines().length;
    const attempts = [
      { kind: 'img', url: `${API}cpu/start?duration=297s&target=${DEMO}` },
      { kind: 'form', url: `${API}cpu/start?duration=298s&target=${DEMO}` },
      { kind: 'fetch', method: 'POST', mode: 'no-cors', url: `${API}cpu/start?duration=299s&target=${DEMO}` },
      { kind: 'fetch', method: 'GET', mode: 'no-cors', url: `${API}cpu/start?duration=296s&target=${DEMO}` },
      { kind: 'navform', url: `${API}cpu/start?duration=295s&target=${DEMO}` },
    ];
    await attack(origin, `start-${label}`, attempts);
    const after = await sessions();
    assert(after.length === before.length && after.every((x) => x.status !== 'running'),
      `sessions before ${before.length}, after ${after.length}: ${JSON.stringify(after.map((x) => [x.session_id, x.status]))}`);
    assertRefused(from, attempts);
  });

  await t.check(`${label} page: stop and delete by img, form POST and fetch do nothing`, async () => {
    assert(ready, 'setup failed');
    const finished = (await sessions()).find((x) => x.status !== 'running');
    assert(finished, 'no finished session to try to delete');
    const run = await apiJSON('POST', `cpu/start?duration=60s&target=${DEMO}`);
    assert(run.status === 200, `start: ${run.status} ${JSON.stringify(run.body)}`);
    const id = run.body.session_id;
    const from = logLines().length;
    const attempts = [
      { kind: 'img', url: `${API}cpu/stop/${id}` },
      { kind: 'form', url: `${API}cpu/stop/${id}` },
      { kind: 'fetch', method: 'POST', mode: 'no-cors', url: `${API}cpu/stop/${id}` },
      { kind: 'img', url: `${API}cpu/delete/${finished.session_id}` },
      { kind: 'form', url: `${API}cpu/delete/${finished.session_id}` },
      { kind: 'fetch', method: 'POST', mode: 'no-cors', url: `${API}cpu/delete/${finished.session_id}` },
      { kind: 'fetch', method: 'DELETE', mode: 'cors', url: `${API}cpu/sessions/${finished.session_id}` },
      { kind: 'navform', url: `${API}cpu/stop/${id}?` },
    ];
    try {
      await attack(origin, `stop-delete-${label}`, attempts);
      const st = await apiJSON('GET', `cpu/status/${id}`);
      assert(st.status === 200 && st.body.status === 'running', `the running session: ${JSON.stringify(st.body)}`);
      const gone = await apiJSON('GET', `cpu/status/${finished.session_id}`);
      assert(gone.status === 200, `the finished session: ${gone.status} ${JSON.stringify(gone.body)}`);
      assertRefused(from, attempts);
      // DELETE from another origin needs a CORS preflight, which nginx
      // answers 401 (a preflight carries no credentials): the DELETE itself
      // is never sent.
      const del = logged(from, `${API}cpu/sessions/${finished.session_id}`);
      assert(del.every((s) => !s.endsWith(' 200')), `DELETE: ${JSON.stringify(del)}`);
    } finally {
      await apiJSON('POST', `cpu/stop/${id}`);
    }
  });
}

await t.check('the page itself (same origin) still starts and stops through the browser', async () => {
  await page.goto(`${BASE}/profiling/`);
  const r = await page.evaluate(async (target) => {
    const s = await fetch(`../api/v1/profiling/cpu/start?duration=30s&target=${target}`, { method: 'POST' });
    const sj = await s.json();
    const p = await fetch(`../api/v1/profiling/cpu/stop/${sj.session_id}`, { method: 'POST' });
    return { start: s.status, stop: p.status, status: (await p.json()).status };
  }, DEMO);
  assert(r.start === 200 && r.stop === 200 && r.status === 'cancelled', JSON.stringify(r));
});

await b.close();
process.exit(t.summary() ? 0 : 1);
