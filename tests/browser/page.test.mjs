// page.test.mjs — the /profiling page in headless Chromium against the real
// stack (nginx, FastCGI endpoints, the demo with the agent), started by
// run.sh.  Reads what was drawn through the page's test hooks
// (window.lynxprof, data attributes), never pixels.  Screenshots of every
// step go to tests/browser/screenshots/.
//
// Environment: LYNXPROF_URL (http://127.0.0.1:PORT), LYNXPROF_USER,
// LYNXPROF_PASSWORD, LYNXPROF_DEMO (target name), LYNXPROF_DEMO_PID;
// LYNXPROF_SECRET (a target whose program the endpoints cannot read),
// LYNXPROF_SECRET_PROG (that program's path), LYNXPROF_FCGI_USER.

import fs from 'node:fs';
import { launch, createRunner, assert, until } from './harness.mjs';

const BASE = process.env.LYNXPROF_URL || 'http://127.0.0.1:19080';
const USER = process.env.LYNXPROF_USER || 'tester';
const PASSWORD = process.env.LYNXPROF_PASSWORD || 's3cret-pw';
const DEMO = process.env.LYNXPROF_DEMO || 'lynx-demo';
const DEMO_PID = Number(process.env.LYNXPROF_DEMO_PID || 0);
const SECRET = process.env.LYNXPROF_SECRET || '';
const SECRET_PROG = process.env.LYNXPROF_SECRET_PROG || '';
const FCGI_USER = process.env.LYNXPROF_FCGI_USER || 'lynxprof';
const HOT = 'demo_hash_path';
const PAGE = `${BASE}/profiling/`;
const API = `${BASE}/api/v1/profiling/`;

const t = createRunner('page');
const b = await launch({ httpCredentials: { username: USER, password: PASSWORD } });
const { page, context, log } = b;
const req = context.request;

const attr = (sel, name) => page.getAttribute(sel, name);
const frames = () => page.evaluate(() => window.lynxprof.drawnFrames());
const canvasSel = '#flame-graph canvas';

async function apiJSON(method, path) {
  const r = await req.fetch(API + path, { method });
  let body = null;
  try { body = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status(), body };
}

/** Wait until the followed session ends; returns its final state. */
async function waitSessionEnd(timeout) {
  await page.waitForFunction(() => {
    const s = document.getElementById('cpu-progress').dataset.state;
    return s !== 'running' && s !== 'idle';
  }, null, { timeout });
  return attr('#cpu-progress', 'data-state');
}

async function clickFrame(name) {
  const f = (await frames()).filter((x) => x.name === name).sort((a, c) => c.w - a.w)[0];
  assert(f, `no drawn frame named ${name}`);
  const box = await page.locator(canvasSel).boundingBox();
  await page.mouse.click(box.x + f.x + Math.min(f.w / 2, 20), box.y + f.y + f.h / 2);
}

let loaded = false;
let cpuOk = false;
const completed = [];

await t.check('page loads with no console errors', async () => {
  const r = await page.goto(PAGE);
  assert(r && r.status() === 200, `GET /profiling/ answered ${r && r.status()}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await page.waitForTimeout(2500); // a few rounds of every poll
  await t.shot(page, '01-loaded');
  loaded = true;
  const errs = [...log.pageErrors, ...log.console];
  assert(errs.length === 0, `console errors:\n${errs.join('\n')}\nfailed requests:\n${log.failed.join('\n')}`);
  assert(log.failed.length === 0, `failed requests:\n${log.failed.join('\n')}`);
});

await t.check('target selector lists the demo with pid and uptime', async () => {
  const opts = await page.$$eval('#target option', (os) => os.map((o) => ({ value: o.value, text: o.textContent })));
  const o = opts.find((x) => x.value === DEMO);
  assert(o, `no option for ${DEMO}: ${JSON.stringify(opts)}`);
  assert(o.text.includes(`pid ${DEMO_PID}`), `option text lacks the pid: ${o.text}`);
  assert(/up \d/.test(o.text), `option text lacks the uptime: ${o.text}`);
  assert(await page.inputValue('#target') === DEMO, 'the demo is not selected');
  assert((await page.textContent('#cpu-max')).trim() === '5m0s', 'the maximum duration from the server is not shown');
});

await t.check('memory chart gains points and the numbers update', async () => {
  const p0 = Number(await attr('#mem-chart', 'data-points'));
  const s0 = await page.textContent('#mem-sampled');
  await until(async () => Number(await attr('#mem-chart', 'data-points')) >= p0 + 2, { timeout: 6000, what: 'two more chart points' });
  const s1 = await page.textContent('#mem-sampled');
  assert(s1 !== s0, `sampled time did not change: ${s0}`);
  const rss = Number(await attr('.stat[data-key="resident"]', 'data-value'));
  assert(rss > 1 << 20, `resident value ${rss}`);
  const txt = await page.textContent('.stat[data-key="resident"] .value');
  assert(/(KiB|MiB|GiB)$/.test(txt.trim()), `resident shown as ${txt}`);
  assert(/in \d+ s|in 1 min/.test(await page.textContent('.stat[data-key="resident"] .change')), 'no change shown');
  assert(Number(await attr('.stat[data-key="threads"]', 'data-value')) >= 3, 'threads');
  await page.locator('#memory-card').screenshot({ path: (await t.shot(page, '02-memory')).replace('02-memory', '02-memory-card') });
});

await t.check('memory pause stops the chart, resume restarts it', async () => {
  await page.click('#mem-pause');
  await page.waitForTimeout(300);
  const p0 = Number(await attr('#mem-chart', 'data-points'));
  await page.waitForTimeout(2200);
  const p1 = Number(await attr('#mem-chart', 'data-points'));
  assert(p1 === p0, `chart grew while paused: ${p0} -> ${p1}`);
  assert((await page.textContent('#mem-pause')).trim() === 'Resume', 'button does not offer Resume');
  await page.click('#mem-pause');
  await until(async () => Number(await attr('#mem-chart', 'data-points')) > p1, { timeout: 4000, what: 'a point after resume' });
});

await t.check('duration over the maximum is refused in the page', async () => {
  await page.fill('#cpu-duration', '10m');
  assert(await page.isDisabled('#cpu-start'), 'Start is enabled for 10m');
  const hint = await page.textContent('#cpu-duration-hint');
  assert(hint.includes('Maximum profiling duration is 5m0s'), `hint: ${hint}`);
  await page.fill('#cpu-duration', 'abc');
  assert((await page.textContent('#cpu-duration-hint')).includes('Invalid duration'), 'no message for abc');
  await page.fill('#cpu-duration', '3s');
  assert(!(await page.isDisabled('#cpu-start')), 'Start disabled for 3s');
});

await t.check('CPU profile of 3 s: the progress bar advances', async () => {
  await page.fill('#cpu-duration', '3s');
  await page.fill('#cpu-hz', '100');
  await page.click('#cpu-start');
  const msg = async () => (await page.textContent('#cpu-msg')).trim();
  await until(async () => (await attr('#cpu-progress', 'data-state')) === 'running' || await msg(),
    { timeout: 5000, what: 'the session to run' });
  assert(await attr('#cpu-progress', 'data-state') === 'running', `not running; message: ${await msg()}`);
  const p1 = Number(await attr('#cpu-progress', 'data-progress'));
  await page.waitForTimeout(1200);
  await t.shot(page, '03-progress');
  const p2 = Number(await attr('#cpu-progress', 'data-progress'));
  const samples = Number(await attr('#cpu-progress', 'data-samples'));
  assert(p2 > p1, `progress did not advance: ${p1} -> ${p2}`);
  assert(samples > 0, 'no live samples');
  assert(/elapsed/.test(await page.textContent('#cpu-progress-text')), 'no elapsed text');
  assert(/remaining/.test(await page.textContent('#cpu-progress-text')), 'no remaining text');
  assert(await page.isEnabled('#cpu-stop'), 'Stop early not enabled');
});

await t.check('the session completes', async () => {
  const st = await waitSessionEnd(15000);
  await t.shot(page, '04-completed');
  assert(st === 'completed', `ended as ${st}: ${await page.textContent('#cpu-msg')}`);
  assert(Number(await attr('#cpu-progress', 'data-progress')) === 1, 'progress is not 1');
  completed.push(await attr('#cpu-progress', 'data-session'));
  await page.waitForSelector(`#sessions tr[data-id="${completed[0]}"][data-state="completed"]`, { timeout: 5000 });
});

await t.check(`the flame graph opens and shows ${HOT}`, async () => {
  await page.waitForSelector('#flame-panel[data-mode="profile"]', { timeout: 8000 });
  await page.waitForTimeout(300);
  await t.shot(page, '05-flame', { fullPage: true });
  const names = (await frames()).map((f) => f.name);
  assert(names.includes(HOT), `drawn frames lack ${HOT}: ${names.slice(0, 40).join(', ')}`);
  assert(Number(await attr(canvasSel, 'data-frames')) === names.length, 'data-frames disagrees with drawnFrames');
  const rows = await page.$$eval('#flame-top tbody tr td.fn', (tds) => tds.map((x) => x.textContent));
  assert(rows.includes(HOT), 'top table lacks the hot function');
  cpuOk = true;
});

await t.check('search for the hot function reports its share', async () => {
  await page.fill('#flame-search', '^demo_hash');
  await until(async () => Number(await attr('#flame-search-share', 'data-search-share')) > 0, { timeout: 3000, what: 'share > 0' });
  const share = Number(await attr(canvasSel, 'data-search-share'));
  assert(share > 0 && share <= 1, `canvas share ${share}`);
  const matched = (await frames()).filter((f) => f.matched).map((f) => f.name);
  assert(matched.length > 0 && matched.every((n) => n.startsWith('demo_hash')), `matched: ${matched}`);
  assert(/% of total/.test(await page.textContent('#flame-search-share')), 'share text');
  await t.shot(page, '06-search');
  await page.fill('#flame-search', '(');
  await until(async () => (await page.getAttribute('#flame-search', 'aria-invalid')) === 'true', { timeout: 2000, what: 'invalid regexp flagged' });
  await page.fill('#flame-search', '');
  await page.waitForTimeout(200);
});

await t.check('hovering a frame shows its details', async () => {
  const f = (await frames()).find((x) => x.name === HOT);
  assert(f, 'no hot frame');
  const box = await page.locator(canvasSel).boundingBox();
  await page.mouse.move(box.x + f.x + 3, box.y + f.y + f.h / 2);
  await page.waitForSelector('.flame-tooltip', { state: 'visible', timeout: 2000 });
  const tip = await page.textContent('.flame-tooltip');
  assert(tip.includes(HOT) && /Total:/.test(tip) && /Self:/.test(tip), `tooltip: ${tip}`);
  assert((await attr('#flame-details', 'data-name')) === HOT, 'details line');
  await page.mouse.move(box.x - 20, box.y - 20);
});

await t.check('zoom into it: breadcrumb, then Back restores', async () => {
  await clickFrame(HOT);
  await until(async () => (await attr(canvasSel, 'data-zoom')) === HOT, { timeout: 2000, what: 'zoom' });
  const crumbs = await page.$$eval('.flame-breadcrumb .flame-crumb', (cs) => cs.map((c) => c.textContent));
  assert(crumbs[0] === 'all' && crumbs[crumbs.length - 1] === HOT && crumbs.length >= 3, `breadcrumb: ${crumbs.join(' > ')}`);
  assert(Number(await attr('#flame-panel', 'data-back')) === 1, 'Back depth');
  assert(await page.isEnabled('#flame-back'), 'Back disabled');
  const drawn = await frames();
  const hot = drawn.find((x) => x.name === HOT && x.depth === drawn.find((y) => y.name === HOT).depth);
  assert(hot.w > (await page.locator(canvasSel).boundingBox()).width * 0.9, 'zoomed frame is not full width');
  await t.shot(page, '07-zoom');
  await page.click('#flame-back');
  await until(async () => (await attr(canvasSel, 'data-zoom')) === 'all', { timeout: 3000, what: 'zoom back to all' });
  assert(await page.isDisabled('#flame-back'), 'Back still enabled at the root');
  // the browser's Back does the same
  await clickFrame(HOT);
  await until(async () => (await attr(canvasSel, 'data-zoom')) === HOT, { timeout: 2000, what: 'zoom again' });
  await page.goBack();
  await until(async () => (await attr(canvasSel, 'data-zoom')) === 'all', { timeout: 3000, what: 'browser Back' });
});

await t.check('keyboard: heaviest child, zoom, reset; flame orientation', async () => {
  await page.focus(canvasSel);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const z = await attr(canvasSel, 'data-zoom');
  assert(z && z !== 'all', `Enter did not zoom (zoom ${z})`);
  await page.keyboard.press('Escape');
  assert((await attr(canvasSel, 'data-zoom')) === 'all', 'Escape did not reset');
  await page.click('#flame-flame');
  assert((await attr(canvasSel, 'data-orientation')) === 'flame', 'flame orientation');
  await t.shot(page, '08-flame-orientation');
  await page.click('#flame-icicle');
  assert((await attr(canvasSel, 'data-orientation')) === 'icicle', 'icicle orientation');
});

await t.check('top table row opens callers and callees', async () => {
  await page.click(`#flame-top tbody tr:has(td.fn:text-is("${HOT}"))`);
  await page.waitForSelector('#sandwich:not([hidden])', { timeout: 2000 });
  assert((await attr('#sandwich', 'data-fn')) === HOT, 'sandwich of another function');
  const callers = await page.evaluate(() => window.lynxprof.panel.sandwichViews.callers.drawnFrames().map((f) => f.name));
  assert(callers[0] === 'demo_hash_path' && callers.length > 1, `callers: ${callers}`);
  await page.locator('#flame-panel').screenshot({ path: (await t.shot(page, '09-sandwich')).replace('09-sandwich', '09-sandwich-panel') });
});

await t.check('folded text and .pprof download', async () => {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }), page.click('#flame-folded')]);
  const text = fs.readFileSync(await dl.path(), 'utf8');
  assert(new RegExp(`;${HOT} \\d+\\n`).test(text), `folded text: ${text.slice(0, 200)}`);
  const id = completed[0];
  const [dl2] = await Promise.all([page.waitForEvent('download', { timeout: 5000 }),
    page.click(`#sessions tr[data-id="${id}"] button[data-action="download"]`)]);
  const bytes = fs.readFileSync(await dl2.path());
  assert(bytes[0] === 0x1f && bytes[1] === 0x8b, 'the .pprof is not gzip');
  assert(/\.pprof$/.test(dl2.suggestedFilename()), `file name ${dl2.suggestedFilename()}`);
});

await t.check('samples of one thread or request label (the demo labels its stages)', async () => {
  // The demo names its workers demo-worker and labels the stages of a log line.
  assert(!(await page.isHidden('#flame-labels')), 'the label choice is hidden');
  const opts = await page.$$eval('#flame-labels option', (os) => os.map((o) => [o.value, o.textContent]));
  const values = opts.map((o) => o[0]);
  assert(values.includes('thread=demo-worker'), `no thread option: ${JSON.stringify(opts)}`);
  assert(values.includes('stage=parse') && values.includes('stage=aggregate'), `no stage labels: ${JSON.stringify(opts)}`);
  assert(opts.every(([v, text]) => v === '' || /\d(\.\d+)?%$/.test(text)), `a share is missing: ${JSON.stringify(opts)}`);
  const before = (await frames()).map((f) => f.name);
  assert(before.includes('demo_parse_line') && before.includes(HOT), 'the whole profile lacks a stage');
  await page.selectOption('#flame-labels', 'stage=aggregate');
  await page.waitForSelector('#flame-panel[data-tagfocus="stage=aggregate"]:not([data-loading])', { timeout: 8000 });
  await page.waitForTimeout(200);
  await t.shot(page, '09b-labels-aggregate', { fullPage: true });
  let names = (await frames()).map((f) => f.name);
  assert(names.includes(HOT), `stage=aggregate lacks ${HOT}: ${names.slice(0, 30).join(', ')}`);
  assert(!names.includes('demo_parse_line') && !names.includes('demo_generate_line'),
    `stage=aggregate still shows other stages: ${names.slice(0, 30).join(', ')}`);
  await page.selectOption('#flame-labels', 'stage=parse');
  await page.waitForSelector('#flame-panel[data-tagfocus="stage=parse"]:not([data-loading])', { timeout: 8000 });
  await page.waitForTimeout(200);
  await t.shot(page, '09c-labels-parse');
  names = (await frames()).map((f) => f.name);
  assert(names.includes('demo_parse_line') && !names.includes(HOT),
    `stage=parse: ${names.slice(0, 30).join(', ')}`);
  await page.selectOption('#flame-labels', 'thread=demo-worker');
  await page.waitForSelector('#flame-panel[data-tagfocus="thread=demo-worker"]:not([data-loading])', { timeout: 8000 });
  names = (await frames()).map((f) => f.name);
  assert(names.includes('demo_parse_line') && names.includes(HOT), 'thread=demo-worker lacks a stage');
  await page.selectOption('#flame-labels', '');
  await page.waitForSelector('#flame-panel[data-tagfocus=""]:not([data-loading])', { timeout: 8000 });
  names = (await frames()).map((f) => f.name);
  assert(names.length === before.length, `all samples again: ${names.length} frames, ${before.length} before`);
});

await t.check('409 while a profile runs: message shown, page follows it', async () => {
  // long enough that the page's own start still meets it on a loaded machine
  const started = await apiJSON('POST', 'cpu/start?duration=8s&target=' + DEMO);
  assert(started.status === 200, `API start: ${started.status} ${JSON.stringify(started.body)}`);
  // The page may notice the running session (its sessions poll) at any
  // moment and disable Start, also between a check and the click, and a
  // click would then wait for the button until that session ends, and
  // start a new one: so the click is given a short time, and else the
  // page is asked through its own code path.
  let clicked = false;
  try {
    await page.fill('#cpu-duration', '2s', { timeout: 1500 });
    await page.click('#cpu-start', { timeout: 1500 });
    clicked = true;
  } catch (e) {
    clicked = false;
  }
  if (!clicked) {
    await page.evaluate(() => window.lynxprof.startCpu('2s', 100));
  }
  await until(async () => /already running/.test(await page.textContent('#cpu-msg')), { timeout: 10000, what: 'the 409 message' });
  assert(/HTTP 409/.test(await page.textContent('#cpu-msg')), 'status not shown');
  await t.shot(page, '10-conflict');
  await until(async () => (await attr('#cpu-progress', 'data-session')) === started.body.session_id, { timeout: 10000, what: 'following the running session' });
  const st = await waitSessionEnd(30000);
  assert(st === 'completed', `followed session ended ${st}`);
  completed.push(started.body.session_id);
});

await t.check('the server\'s 400 is shown (limit raised in the page, not on the server)', async () => {
  await page.route('**/api/v1/profiling/targets', async (route) => {
    const r = await route.fetch();
    const body = await r.json();
    body.max_profile_duration = '1h0m0s';
    await route.fulfill({ response: r, json: body });
  });
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  await page.fill('#cpu-duration', '10m');
  assert(await page.isEnabled('#cpu-start'), 'Start disabled although the page believes 1h is allowed');
  await page.click('#cpu-start');
  await until(async () => /HTTP 400/.test(await page.textContent('#cpu-msg')), { timeout: 4000, what: 'the 400 message' });
  const m = await page.textContent('#cpu-msg');
  assert(/Maximum profiling duration is 5m0s/.test(m), `message: ${m}`);
  await t.shot(page, '11-error-400');
  await page.unroute('**/api/v1/profiling/targets');
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
});

await t.check('compare two sessions: diff drawn', async () => {
  assert(completed.length >= 2, `need two finished sessions, have ${completed.length}`);
  for (const id of completed.slice(0, 2)) {
    await page.waitForSelector(`#sessions tr[data-id="${id}"] input[data-action="pick"]:not([disabled])`, { timeout: 5000 });
    await page.check(`#sessions tr[data-id="${id}"] input[data-action="pick"]`);
  }
  assert(await page.isEnabled('#compare'), 'Compare disabled with two picked');
  await page.click('#compare');
  await page.waitForSelector('#flame-panel[data-mode="diff"]', { timeout: 8000 });
  await page.waitForTimeout(300);
  const drawn = await frames();
  assert(drawn.some((f) => f.name === HOT), 'diff lacks the hot function');
  assert(drawn.filter((f) => !f.merged).every((f) => typeof f.delta === 'number'), 'frames without delta');
  assert(!(await page.isHidden('#flame-legend')), 'diff legend hidden');
  await t.shot(page, '12-diff', { fullPage: true });
});

await t.check('stop early, then delete the session', async () => {
  await page.fill('#cpu-duration', '30s');
  await page.click('#cpu-start');
  await until(async () => (await attr('#cpu-progress', 'data-state')) === 'running' &&
    Number(await attr('#cpu-progress', 'data-samples')) > 0, { timeout: 6000, what: 'a running session with samples' });
  const id = await attr('#cpu-progress', 'data-session');
  await page.click('#cpu-stop');
  const st = await waitSessionEnd(8000);
  assert(st === 'cancelled', `stopped session is ${st}`);
  await page.waitForSelector(`#sessions tr[data-id="${id}"][data-state="cancelled"] button[data-action="delete"]`, { timeout: 5000 });
  await page.click(`#sessions tr[data-id="${id}"] button[data-action="delete"]`);
  await page.waitForSelector(`#sessions tr[data-id="${id}"]`, { state: 'detached', timeout: 5000 });
  const gone = await apiJSON('GET', 'cpu/status/' + id);
  assert(gone.status === 404, `deleted session answers ${gone.status}`);
});

for (const [kind, label] of [['heap', 'Heap'], ['goroutine', 'Threads'], ['block', 'Block'], ['mutex', 'Mutex'], ['threadcreate', 'Thread creation']]) {
  await t.check(`${label}: flame graph and download in one click`, async () => {
    const locks = kind === 'block' || kind === 'mutex';
    const asked = [];
    const seen = (r) => { if (r.url().includes('/flame?') || r.url().includes('/debug/pprof/')) asked.push(r.url()); };
    page.on('request', seen);
    await page.click(`#profiles-card tr[data-kind="${kind}"] button[data-action="flame"]`);
    await until(async () => (await page.textContent('#flame-title')) === `${label} profile` || (await page.textContent('#profiles-msg')).trim(),
      { timeout: locks ? 20000 : 10000, what: 'the profile or a message' });
    const m = (await page.textContent('#profiles-msg')).trim();
    assert(!m, `message: ${m}`);
    if (kind === 'heap') {
      const st = await page.$eval('#flame-sample-type', (s) => s.options[s.selectedIndex].textContent);
      assert(st.startsWith('inuse_space'), `heap sample type ${st}`);
    }
    await t.shot(page, `13-${kind}`);
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: locks ? 20000 : 10000 }),
      page.click(`#profiles-card tr[data-kind="${kind}"] button[data-action="download"]`)]);
    const bytes = fs.readFileSync(await dl.path());
    assert(bytes[0] === 0x1f && bytes[1] === 0x8b, `${kind} download is not a gzipped profile`);
    page.off('request', seen);
    // Block and mutex ask for a recording window (5 s by default).  The
    // flame data is always counted; the download too where it is under
    // /debug/pprof/ (heap and threads download from /api/v1/profiling/).
    const want = kind === 'heap' || kind === 'goroutine' ? 1 : 2;
    assert(asked.length === want && asked.every((u) => u.includes('seconds=5') === locks), `requests: ${asked.join(' ')}`);
  });
}

await t.check('Threads, running threads only: asks running_only=1 and draws blocked threads as [blocked in syscall: wchan]', async () => {
  const box = '#threads-running-only';
  const tip = await page.getAttribute('#profiles-card label.running-only', 'title');
  assert(/EINTR/.test(tip) && /wchan/.test(tip), `tooltip: ${tip}`);
  assert(/EINTR/.test(await page.textContent('#threads-running-only-note')), 'no EINTR note on the page');
  await page.check(box);
  try {
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.url().includes('/flame?') && r.url().includes('type=goroutine'), { timeout: 10000 }),
      page.click('#profiles-card tr[data-kind="goroutine"] button[data-action="flame"]')]);
    assert(new URL(req.url()).searchParams.get('running_only') === '1', `request ${req.url()}`);
    await until(async () => (await page.evaluate(() => window.lynxprof.drawnFrames()))
      .some((f) => /^\[blocked in syscall: .+\]$/.test(f.name)), { timeout: 10000, what: 'a [blocked in syscall] frame' });
    const m = (await page.textContent('#profiles-msg')).trim();
    assert(!m, `message: ${m}`);
  } finally {
    await page.uncheck(box);
  }
});

/** Open the threads flame graph of target `name` (selected already); the
 * subtitle names the target, so an older graph is not taken for it. */
async function threadsFlame(name) {
  await page.click('#profiles-card tr[data-kind="goroutine"] button[data-action="flame"]');
  await until(async () => (await page.textContent('#flame-title')) === 'Threads profile' &&
    (await page.getAttribute('#flame-panel', 'data-mode')) === 'profile' &&
    (await page.textContent('#flame-subtitle')).startsWith(`${name} `),
  { timeout: 10000, what: `the threads graph of ${name}` });
}

await t.check('a program the endpoints cannot read: the notice names it, the reason and the user', async () => {
  assert(SECRET && SECRET_PROG, 'run.sh did not start the 0711 target');
  await page.selectOption('#target', SECRET);
  assert(await page.inputValue('#target') === SECRET, 'the 0711 target is not selected');
  await threadsFlame(SECRET);
  await page.waitForSelector('#flame-unsymbolized', { state: 'visible', timeout: 5000 });
  const items = await page.$$eval('#flame-unsymbolized li', (ls) => ls.map((l) => l.textContent));
  const want = `no symbols for ${SECRET_PROG}: not readable by user ${FCGI_USER}`;
  assert(items.includes(want), `notice items: ${JSON.stringify(items)}`);
  const frames = await page.evaluate(() => window.lynxprof.drawnFrames());
  assert(frames.some((f) => /^lynx-demo\+0x[0-9a-f]+$/.test(f.name)), 'no bare lynx-demo+0x frame drawn');
  await t.shot(page, '15-unsymbolized');
  // The choice is in the address: a reload keeps it.
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  assert(await page.inputValue('#target') === SECRET, 'the 0711 target is not selected after a reload');
  await threadsFlame(SECRET);
  await page.waitForSelector('#flame-unsymbolized', { state: 'visible', timeout: 5000 });
  await page.locator('#flame-panel').screenshot({ path: (await t.shot(page, '15-unsymbolized')).replace('15-unsymbolized', '15-unsymbolized-panel') });
  // The readable demo: symbols, no notice.
  await page.selectOption('#target', DEMO);
  assert(await page.inputValue('#target') === DEMO, 'the demo is not selected again');
  await threadsFlame(DEMO);
  assert(await page.isHidden('#flame-unsymbolized'), 'a notice for the readable demo');
  // Modules without debug info (libc without libc6-dbg, ...) have a list of
  // their own, which never names the demo built with -g.
  const nodebug = await page.$$eval('#flame-nodebug li', (ls) => ls.map((l) => l.textContent));
  assert(nodebug.every((m) => m.startsWith('no debug info for ') && !m.includes('/lynx-demo:')),
    `no-debug-info items: ${JSON.stringify(nodebug)}`);
  assert((await page.isHidden('#flame-nodebug')) === (nodebug.length === 0), 'the no-debug-info list is shown iff it has items');
});

await t.check('dark theme switch, remembered across a reload', async () => {
  await page.selectOption('#theme', 'dark');
  assert((await attr('html', 'data-theme')) === 'dark', 'data-theme');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert(bg === 'rgb(15, 18, 22)', `body background ${bg}`);
  await page.reload();
  await page.waitForSelector('body[data-ready="1"]');
  assert((await attr('html', 'data-theme')) === 'dark', 'not remembered');
  await page.waitForTimeout(1500);
  if (cpuOk) {
    await page.click(`#sessions tr[data-id="${completed[0]}"] button[data-action="flame"]`);
    await page.waitForSelector('#flame-panel[data-mode="profile"]');
    await page.waitForTimeout(300);
  }
  await t.shot(page, '14-dark', { fullPage: true });
  await page.selectOption('#theme', 'auto');
  // The media-query change event arrives asynchronously.
  const themeIs = (v) => page.waitForFunction(
    (want) => document.documentElement.getAttribute('data-theme') === want, v, { timeout: 3000 })
    .then(() => true, () => false);
  await page.emulateMedia({ colorScheme: 'dark' });
  assert(await themeIs('dark'), 'system dark not followed');
  await page.emulateMedia({ colorScheme: 'light' });
  assert(await themeIs('light'), 'system light not followed');
});

await t.check('no uncaught errors in the page during the run', async () => {
  assert(log.pageErrors.length === 0, log.pageErrors.join('\n'));
});

if (!loaded) console.log('# the page never loaded; see the screenshots and the stack logs');
await b.close();
process.exit(t.summary() ? 0 : 1);
