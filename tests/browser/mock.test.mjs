// mock.test.mjs — the /profiling page in headless Chromium against the
// scripted API of mock-server.mjs, served under a sub-path (/tools/...), so
// every URL of the page must be relative.  Covers what the real stack cannot
// produce on demand: a failing memory endpoint, a malformed session record,
// empty results.  The real-stack flows are in page.test.mjs.

import { launch, createRunner, assert, until } from './harness.mjs';
import { startMockServer } from './mock-server.mjs';

const t = createRunner('mock');
const srv = await startMockServer({ port: 0, prefix: '/tools', user: 'u', password: 'p' });
const b = await launch({ httpCredentials: { username: 'u', password: 'p' } });
const { page, log } = b;
const attr = (sel, name) => page.getAttribute(sel, name);
const canvasSel = '#flame-graph canvas';

await t.check('page loads under a sub-path with no console errors', async () => {
  await page.goto(srv.url + '/profiling/');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await page.waitForTimeout(1500);
  const errs = [...log.pageErrors, ...log.console, ...log.failed];
  assert(errs.length === 0, errs.join('\n'));
  assert((await page.inputValue('#target')) === 'lynx-demo', 'target not selected');
  assert(!(await page.isHidden('#sessions-empty')), 'empty sessions note hidden');
});

await t.check('a failing memory endpoint: message shown, then recovery', async () => {
  srv.state.failMemory = true;
  await until(async () => /agent not responding \(HTTP 503\)/.test(await page.textContent('#mem-msg')), { timeout: 4000, what: 'the 503 message' });
  await t.shot(page, '01-memory-error');
  srv.state.failMemory = false;
  await until(async () => (await page.textContent('#mem-msg')).trim() === '', { timeout: 5000, what: 'the message to clear' });
});

await t.check('a CPU session runs, completes and opens its flame graph', async () => {
  await page.fill('#cpu-duration', '1s');
  await page.click('#cpu-start');
  await page.waitForSelector('#cpu-progress[data-state="completed"]', { timeout: 6000 });
  await page.waitForSelector('#flame-panel[data-mode="profile"]', { timeout: 4000 });
  const names = await page.evaluate(() => window.lynxprof.drawnFrames().map((f) => f.name));
  assert(names.includes('demo_hash_path'), names.join(','));
});

await t.check('keyboard: / focuses search, arrows select, Enter zooms, 0 resets', async () => {
  await page.focus(canvasSel);
  await page.keyboard.press('/');
  assert(await page.evaluate(() => document.activeElement.id) === 'flame-search', 'search not focused');
  await page.keyboard.press('Escape');
  await page.focus(canvasSel);
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  const z = await attr(canvasSel, 'data-zoom');
  assert(z === 'demo_aggregate', `zoom after 5 × ↓ + Enter (all › clone3 › start_thread › demo_worker › demo_process_batch › heaviest): ${z}`);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  const z2 = await attr(canvasSel, 'data-zoom');
  assert(z2 && z2 !== z, `sibling zoom ${z2}`);
  await page.keyboard.press('0');
  assert((await attr(canvasSel, 'data-zoom')) === 'all', 'not reset');
});

await t.check('a session record without type or status still lists', async () => {
  srv.state.extra.push({ session_id: 'cpu_1', started_at: '2020-01-01T00:00:00Z', done: true, duration: '30s' });
  await page.waitForSelector('#sessions tr[data-id="cpu_1"]', { timeout: 5000 });
  const cells = await page.$$eval('#sessions tr[data-id="cpu_1"] td', (tds) => tds.map((x) => x.textContent));
  assert(cells[2] === 'cpu' && cells[4].startsWith('completed'), `cells: ${cells}`);
  srv.state.extra.length = 0;
});

await t.check('pick two to compare: a third pick drops the oldest; diff drawn', async () => {
  for (let i = 0; i < 2; i++) {
    await page.fill('#cpu-duration', '0.3s');
    await page.click('#cpu-start');
    await page.waitForSelector('#cpu-progress[data-state="completed"]', { timeout: 5000 });
    await page.waitForTimeout(100);
  }
  await until(async () => (await page.$$('#sessions tr[data-state="completed"]')).length >= 3, { timeout: 5000, what: 'three sessions' });
  const ids = await page.$$eval('#sessions tr[data-state="completed"]', (trs) => trs.map((x) => x.dataset.id));
  for (const id of ids.slice(0, 3)) await page.check(`#sessions tr[data-id="${id}"] input[data-action="pick"]`);
  const picked = await page.$$eval('#sessions input[data-action="pick"]:checked', (cs) => cs.map((c) => c.closest('tr').dataset.id));
  assert(picked.length === 2 && !picked.includes(ids[0]), `picked ${picked}`);
  await page.click('#compare');
  await page.waitForSelector('#flame-panel[data-mode="diff"]', { timeout: 4000 });
  const deltas = await page.evaluate(() => window.lynxprof.drawnFrames().filter((f) => typeof f.delta === 'number').length);
  assert(deltas > 0, 'no frame carries a delta');
  await t.shot(page, '02-diff');
});

await t.check('delete removes the row; an error of an action is shown', async () => {
  const id = await page.$eval('#sessions tr[data-state="completed"]', (x) => x.dataset.id);
  await page.click(`#sessions tr[data-id="${id}"] button[data-action="delete"]`);
  await page.waitForSelector(`#sessions tr[data-id="${id}"]`, { state: 'detached', timeout: 4000 });
  const other = await page.$eval('#sessions tr[data-state="completed"]', (x) => x.dataset.id);
  srv.state.sessions.delete(other); // gone on the server, still in the page's table
  await page.click(`#sessions tr[data-id="${other}"] button[data-action="download"]`);
  await until(async () => /Profile session not found \(HTTP 404\)/.test(await page.textContent('#sessions-msg')), { timeout: 3000, what: 'the 404 message' });
});

await t.check('heap: the chosen sample type is shown; switching it redraws', async () => {
  await page.selectOption('#heap-sample-type', 'alloc_objects');
  await page.click('#profiles-card tr[data-kind="heap"] button[data-action="flame"]');
  await until(async () => (await page.textContent('#flame-title')) === 'Heap profile', { timeout: 3000, what: 'heap graph' });
  const label = await page.$eval('#flame-sample-type', (s) => s.options[s.selectedIndex].textContent);
  assert(label === 'alloc_objects (count)', label);
  await page.selectOption('#flame-sample-type', { label: 'inuse_space (bytes)' });
  const unit = await page.evaluate(() => window.lynxprof.view.tree.sampleType.type);
  assert(unit === 'inuse_space', unit);
  const top = await page.textContent('#flame-top tbody tr:first-child');
  assert(/KiB|MiB|B/.test(top), `top row ${top}`);
});

await t.check('the 409 of a busy server is shown and the running session followed', async () => {
  const r = await page.evaluate(async () => (await fetch('../api/v1/profiling/cpu/start?duration=2s', { method: 'POST' })).json());
  await page.evaluate(() => window.lynxprof.startCpu('1s', 100));
  assert(/a CPU profile is already running \(HTTP 409\)/.test(await page.textContent('#cpu-msg')), 'no 409 message');
  await until(async () => (await attr('#cpu-progress', 'data-session')) === r.session_id, { timeout: 3000, what: 'following' });
  await page.waitForSelector('#cpu-progress[data-state="completed"]', { timeout: 5000 });
});

await t.check('no uncaught errors', async () => {
  assert(log.pageErrors.length === 0, log.pageErrors.join('\n'));
});

await b.close();
await srv.close();
process.exit(t.summary() ? 0 : 1);
