// app.js — the /profiling page: target selector, CPU sessions, live memory,
// one-click profiles, the sessions table and the flame-graph panel.
//
// Polling (each loop waits for its answer before scheduling the next, so a
// slow server never piles requests up):
//   targets every 5 s · memory every 1 s (unless paused) ·
//   status of the followed CPU session every 500 ms · sessions every 2 s.
// Every error the server returns is shown with its message next to the
// control that caused it.
//
// Test hooks: window.lynxprof (panel, view, drawnFrames(), state, ring) and
// data attributes: #cpu-progress[data-state|data-progress|data-samples],
// #mem-chart[data-points], .stat[data-key][data-value], #sessions
// tr[data-id][data-state], #flame-panel[data-mode|data-back].

import { api, profileDownload } from './api.js';
import {
  parseDuration, formatDuration, formatBytes, formatChange, formatCount, formatSecondsShort,
  formatUptime, formatClock, toSeconds,
} from './format.js';
import { TimeRing } from './ring.js';
import { createChart } from './chart.js';
import { sessionRows, sessionState, ComparePick } from './sessions-model.js';
import { createFlamePanel } from './flame-panel.js';

const $ = (id) => document.getElementById(id);

const MEMORY_MS = 1000;
const STATUS_MS = 500;
const SESSIONS_MS = 2000;
const TARGETS_MS = 5000;
const CHART_WINDOW_MS = 5 * 60 * 1000;
const HZ_MIN = 1;
const HZ_MAX = 1000;

const state = {
  targets: [],
  target: '',
  maxDurationNs: 5 * 60e9,
  maxDurationText: '5m0s',
  tracking: null,         // id of the CPU session the progress bar follows
  trackingAutoOpen: true, // open its flame graph when it ends
  lastStatus: null,
  sessions: [],
  sessionsKey: '',
  paused: false,
  memory: null,
};

// ---- small helpers ------------------------------------------------------------

function setMsg(el, text, kind = 'error') {
  el.textContent = text || '';
  el.classList.toggle('info', kind === 'info');
}

/** "context: server message (HTTP status)". */
function errText(context, e) {
  const status = e && e.status ? ` (HTTP ${e.status})` : '';
  return `${context}: ${e && e.message ? e.message : e}${status}`;
}

async function busy(button, fn) {
  button.setAttribute('aria-busy', 'true');
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

function loop(fn, ms) {
  let timer = 0;
  let inflight = false;
  let again = false;
  const run = async () => {
    timer = 0;
    if (inflight) { again = true; return; }
    inflight = true;
    const t0 = Date.now();
    let next = ms;
    try {
      const r = await fn();
      if (typeof r === 'number') next = r;
    } catch (e) {
      console.warn(e); // eslint-disable-line no-console
    }
    inflight = false;
    if (again) { again = false; next = 0; }
    if (!timer) timer = setTimeout(run, Math.max(0, next - (Date.now() - t0)));
  };
  return {
    /** Schedule the first run (no-op while the loop is already going). */
    start(delay = 0) { if (!timer && !inflight) timer = setTimeout(run, delay); },
    /** Run now (or right after the run in flight). */
    now() {
      if (timer) { clearTimeout(timer); timer = 0; }
      run();
    },
  };
}

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// ---- theme ------------------------------------------------------------------------

const theme = window.lynxprofTheme;
const themeSel = $('theme');
themeSel.value = theme ? theme.choice : 'auto';
themeSel.addEventListener('change', () => theme && theme.set(themeSel.value));

// ---- targets ----------------------------------------------------------------------

const targetSel = $('target');
const targetInfo = $('target-info');
const banner = $('banner');

function showBanner(text) {
  banner.textContent = text || '';
  banner.hidden = !text;
}

function targetLabel(t, now) {
  if (!t.alive) return `${t.name} · pid ${t.pid} · not running`;
  const up = (now - Date.parse(t.started_at)) / 1000;
  return `${t.name} · pid ${t.pid} · up ${formatUptime(up)}`;
}

function renderTargets() {
  const now = Date.now();
  const list = state.targets;
  const existing = new Map([...targetSel.options].map((o) => [o.value, o]));
  const want = new Set(list.map((t) => t.name));
  for (const [v, o] of existing) if (!want.has(v)) o.remove();
  for (const t of list) {
    let o = existing.get(t.name);
    if (!o) { o = el('option', { value: t.name }); targetSel.append(o); }
    const label = targetLabel(t, now);
    if (o.textContent !== label) o.textContent = label;
    o.dataset.pid = String(t.pid);
    o.dataset.alive = String(!!t.alive);
  }
  if (!list.length) {
    targetSel.textContent = '';
    targetSel.append(el('option', { value: '', text: 'no profiled process found' }));
  }
  targetSel.value = state.target;
  const cur = list.find((t) => t.name === state.target);
  if (cur) {
    targetInfo.textContent = (cur.exe ? cur.exe : '') + (cur.status && cur.status !== 'running' ? ` · ${cur.status}` : '');
    targetInfo.title = `started ${cur.started_at}`;
  } else targetInfo.textContent = '';
}

function chooseTarget(t) {
  const alive = state.targets.filter((x) => x.alive);
  const want = new URLSearchParams(location.search).get('target');
  if (state.target && state.targets.some((x) => x.name === state.target)) return state.target;
  if (want && state.targets.some((x) => x.name === want)) return want;
  if (t.default_target && alive.some((x) => x.name === t.default_target)) return t.default_target;
  return alive.length ? alive[0].name : (state.targets[0] ? state.targets[0].name : '');
}

async function loadTargets() {
  try {
    const t = await api.targets();
    state.targets = Array.isArray(t.targets) ? t.targets : [];
    const max = parseDuration(t.max_profile_duration);
    if ('ns' in max && max.ns > 0) {
      state.maxDurationNs = max.ns;
      state.maxDurationText = formatDuration(max.ns);
    }
    $('cpu-max').textContent = state.maxDurationText;
    const before = state.target;
    state.target = chooseTarget(t);
    renderTargets();
    if (state.target !== before) targetChanged(false);
    // A target that cannot be used says how to fix it (its "error").
    const unusable = state.targets.find((x) => !x.alive && x.error);
    showBanner(state.targets.some((x) => x.alive) ? ''
      : 'No profiled process is running on this host.' + (unusable ? ' ' + unusable.error : ''));
    validateCpuForm();
  } catch (e) {
    showBanner(errText('Listing targets', e));
  }
}

function targetChanged(userAction) {
  if (userAction) {
    const u = new URL(location.href);
    u.searchParams.set('target', state.target);
    history.replaceState(history.state, '', u);
  }
  ring.clear();
  state.memory = null;
  chart.draw();
  memoryLoop.now();
  sessionsLoop.now();
}

targetSel.addEventListener('change', () => {
  state.target = targetSel.value;
  renderTargets();
  targetChanged(true);
});

// ---- memory -------------------------------------------------------------------------

// ring columns: the chart draws 0..2, the tiles use all
const K = { resident: 0, heap: 1, allocated: 2, virtual: 3, threads: 4, fds: 5, cpu: 6, live: 7, allocTotal: 8 };
const ring = new TimeRing(Math.ceil(CHART_WINDOW_MS / MEMORY_MS) + 10, 9);
const chart = createChart($('mem-chart'), ring, {
  windowMs: CHART_WINDOW_MS,
  series: [
    { key: K.resident, label: 'Resident', color: '--chart-1' },
    { key: K.heap, label: 'Heap in use', color: '--chart-2' },
    { key: K.allocated, label: 'Heap allocated', color: '--chart-3' },
  ],
});

const TILES = [
  { key: 'resident', label: 'Resident', unit: 'bytes', swatch: 's1', title: 'Resident set size (VmRSS)' },
  { key: 'heap', label: 'Heap in use', unit: 'bytes', swatch: 's2', title: 'Bytes in use by the allocator (malloc)' },
  { key: 'allocated', label: 'Heap allocated', unit: 'bytes', swatch: 's3', title: 'Bytes the allocator holds from the system (arena + mmap)' },
  { key: 'virtual', label: 'Virtual', unit: 'bytes', title: 'Virtual memory size (VmSize)' },
  { key: 'threads', label: 'Threads', unit: 'count' },
  { key: 'fds', label: 'Open files', unit: 'count', title: 'Open file descriptors' },
  { key: 'cpu', label: 'CPU', unit: 'cpu', title: 'User + system CPU time; the rate is over the last 5 seconds' },
  { key: 'live', label: 'Live (sampled)', unit: 'bytes', title: 'Live bytes seen by the heap profiler', optional: true },
];

const statsEl = $('mem-stats');
const tileEls = new Map();
for (const t of TILES) {
  const value = el('div', { class: 'value', text: '–' });
  const change = el('div', { class: 'change' });
  const label = el('div', { class: 'label' }, t.swatch ? el('i', { class: `swatch ${t.swatch}` }) : null, t.label);
  const box = el('div', { class: 'stat', 'data-key': t.key, title: t.title || '' }, label, value, change);
  if (t.optional) box.hidden = true;
  statsEl.append(box);
  tileEls.set(t.key, { box, value, change });
}

function memValues(m) {
  const h = m.heap || {};
  const p = m.process || {};
  const a = m.allocations || null;
  const num = (v) => (typeof v === 'number' ? v : NaN);
  const v = new Array(9).fill(NaN);
  v[K.resident] = num(p.resident_bytes);
  v[K.heap] = num(h.in_use_bytes);
  v[K.allocated] = num(h.arena_bytes) + (typeof h.mmap_bytes === 'number' ? h.mmap_bytes : 0);
  v[K.virtual] = num(p.virtual_bytes);
  v[K.threads] = num(p.threads);
  v[K.fds] = num(p.open_fds);
  v[K.cpu] = num(p.cpu_user_seconds) + num(p.cpu_system_seconds);
  v[K.live] = a ? num(a.live_bytes) : NaN;
  v[K.allocTotal] = a ? num(a.allocated_bytes_total) : NaN;
  return v;
}

function changeText(k, unit) {
  const c = ring.change(k, 60000);
  if (!c) return { text: '', dir: 0 };
  const span = c.span >= 55000 ? '1 min' : `${Math.round(c.span / 1000)} s`;
  return { text: `${formatChange(c.delta, unit)} in ${span}`, dir: Math.sign(c.delta) };
}

function renderMemory(m, v) {
  for (const t of TILES) {
    const tile = tileEls.get(t.key);
    const x = v[K[t.key]];
    tile.box.dataset.value = Number.isNaN(x) ? '' : String(x);
    if (t.optional) tile.box.hidden = Number.isNaN(x);
    if (t.unit === 'cpu') {
      const c = ring.change(K.cpu, 5000);
      const rate = c && c.span > 0 ? c.delta / (c.span / 1000) : NaN;
      tile.value.textContent = Number.isNaN(rate) ? '–' : `${Math.round(rate * 100)}%`;
      tile.change.textContent = Number.isNaN(x) ? '' : `${x.toFixed(1)} s used`;
      tile.change.className = 'change';
      continue;
    }
    tile.value.textContent = Number.isNaN(x) ? 'n/a' : t.unit === 'bytes' ? formatBytes(x) : formatCount(x);
    const ch = changeText(K[t.key], t.unit);
    tile.change.textContent = ch.text;
    tile.change.className = 'change' + (ch.dir > 0 ? ' up' : ch.dir < 0 ? ' down' : '');
  }
  const live = tileEls.get('live');
  if (!live.box.hidden) {
    const c = ring.change(K.allocTotal, 60000);
    if (c && c.span > 0) live.change.textContent = `allocating ${formatBytes(c.delta / (c.span / 1000))}/s`;
  }
  // every number, with its unit
  const rows = [];
  const add = (group, obj) => {
    if (!obj) return;
    for (const [key, val] of Object.entries(obj)) {
      let text = val === null || val === undefined ? 'n/a' : String(val);
      if (typeof val === 'number') {
        if (key.endsWith('_bytes')) text = `${formatBytes(val)} (${formatCount(val)} B)`;
        else if (key.endsWith('_seconds')) text = `${val.toFixed(2)} s`;
        else text = formatCount(val);
      }
      rows.push(el('tr', {}, el('th', { scope: 'row', text: `${group}.${key}` }), el('td', { class: 'num', text })));
    }
  };
  add('heap', m.heap);
  add('process', m.process);
  if (m.allocations) add('allocations', m.allocations);
  else rows.push(el('tr', {}, el('th', { scope: 'row', text: 'allocations' }), el('td', { class: 'num', text: 'not counted (off by default: LYNXPROF_HEAP_COUNTERS=1 in the program turns them on)' })));
  $('mem-all').tBodies[0].replaceChildren(...rows);
  const tgt = m.target || {};
  $('mem-sampled').textContent = `${tgt.name || ''} pid ${tgt.pid || '?'} · sampled ${formatClock(m.sampled_at || new Date().toISOString())}`;
}

const memMsg = $('mem-msg');
const memoryLoop = loop(async () => {
  if (state.paused || !state.target) return MEMORY_MS;
  const target = state.target;
  try {
    const m = await api.memory(target);
    if (target !== state.target) return 0;
    const v = memValues(m);
    ring.push(Date.parse(m.sampled_at) || Date.now(), v);
    state.memory = m;
    renderMemory(m, v);
    chart.draw();
    setMsg(memMsg, '');
  } catch (e) {
    setMsg(memMsg, errText('Memory', e));
    return 2 * MEMORY_MS;
  }
  return MEMORY_MS;
}, MEMORY_MS);

const pauseBtn = $('mem-pause');
pauseBtn.addEventListener('click', () => {
  state.paused = !state.paused;
  pauseBtn.textContent = state.paused ? 'Resume' : 'Pause';
  pauseBtn.setAttribute('aria-pressed', String(state.paused));
  $('memory-card').dataset.paused = String(state.paused);
  if (!state.paused) memoryLoop.now();
});

// ---- CPU profile ----------------------------------------------------------------------

const durIn = $('cpu-duration');
const hzIn = $('cpu-hz');
const startBtn = $('cpu-start');
const stopBtn = $('cpu-stop');
const cpuMsg = $('cpu-msg');
const progress = $('cpu-progress');
const progressFill = progress.querySelector('.fill');
const progressText = $('cpu-progress-text');

/** Check the form against the server's limits; returns {duration, hz} or null. */
function validateCpuForm() {
  const d = parseDuration(durIn.value);
  let err = '';
  if ('error' in d) err = d.error;
  else if (!(d.ns > 0)) err = 'The duration must be positive';
  else if (d.ns > state.maxDurationNs) err = `Maximum profiling duration is ${state.maxDurationText}`;
  durIn.setAttribute('aria-invalid', err ? 'true' : 'false');
  const hz = Number(hzIn.value);
  let hzErr = '';
  if (!Number.isInteger(hz) || hz < HZ_MIN || hz > HZ_MAX) hzErr = `The frequency must be a whole number of Hz from ${HZ_MIN} to ${HZ_MAX}`;
  hzIn.setAttribute('aria-invalid', hzErr ? 'true' : 'false');
  const hint = $('cpu-duration-hint');
  hint.classList.toggle('msg', !!(err || hzErr));
  hint.replaceChildren();
  if (err || hzErr) hint.textContent = [err, hzErr].filter(Boolean).join('. ');
  else {
    hint.append('Go syntax (', el('code', { text: '30s' }), ', ', el('code', { text: '1m30s' }), '); maximum ',
      el('span', { id: 'cpu-max', text: state.maxDurationText }));
  }
  startBtn.disabled = !!(err || hzErr) || !!state.tracking || !state.target;
  return err || hzErr ? null : { duration: durIn.value.trim(), hz };
}
durIn.addEventListener('input', validateCpuForm);
hzIn.addEventListener('input', validateCpuForm);

function renderProgress(s) {
  const st = sessionState(s);
  const durS = toSeconds(s.duration);
  let elapsed = toSeconds(s.elapsed);
  let remaining = toSeconds(s.remaining);
  let p = typeof s.progress === 'number' ? s.progress : NaN;
  if (Number.isNaN(p) && durS > 0 && !Number.isNaN(elapsed)) p = elapsed / durS;
  if (st === 'completed') p = 1;
  if (Number.isNaN(p)) p = 0;
  p = Math.max(0, Math.min(1, p));
  if (Number.isNaN(remaining) && !Number.isNaN(elapsed) && durS > 0) remaining = Math.max(0, durS - elapsed);
  if (Number.isNaN(elapsed) && durS > 0) elapsed = p * durS;
  progress.dataset.state = st;
  progress.dataset.session = s.session_id || '';
  progress.dataset.progress = p.toFixed(3);
  progress.dataset.samples = String(typeof s.samples === 'number' ? s.samples : 0);
  progress.setAttribute('aria-valuenow', String(Math.round(p * 100)));
  progressFill.style.width = (p * 100).toFixed(1) + '%';
  const parts = [el('b', { text: s.session_id || '' }), ` ${st}`];
  if (st === 'running') {
    parts.push(` · ${formatSecondsShort(elapsed)} elapsed · ${formatSecondsShort(remaining)} remaining`);
  } else if (!Number.isNaN(elapsed)) {
    parts.push(` · ran ${formatSecondsShort(elapsed)}`);
  }
  if (typeof s.samples === 'number') {
    parts.push(` · ${formatCount(s.samples)} samples`);
    if (s.lost_samples) parts.push(` (${formatCount(s.lost_samples)} lost)`);
  }
  if (typeof s.hz === 'number') parts.push(` at ${s.hz} Hz`);
  if (typeof s.data_size === 'number' && s.data_size > 0) parts.push(` · ${formatBytes(s.data_size)}`);
  progressText.replaceChildren(...parts);
}

function track(id, initial, autoOpen = true) {
  state.tracking = id;
  state.trackingAutoOpen = autoOpen;
  stopBtn.disabled = false;
  validateCpuForm();
  if (initial) renderProgress({ status: 'running', progress: 0, samples: 0, ...initial });
  statusLoop.now();
}

function finishTracking(s) {
  state.tracking = null;
  stopBtn.disabled = true;
  validateCpuForm();
  const st = sessionState(s);
  if (st === 'failed') setMsg(cpuMsg, `Profile ${s.session_id} failed: ${s.error || 'no reason given'}`);
  sessionsLoop.now();
  if (state.trackingAutoOpen && (st === 'completed' || (st === 'cancelled' && s.samples > 0))) {
    openCpuFlame(s.session_id, s).catch((e) => setMsg(cpuMsg, errText('Opening the profile', e)));
  }
}

const statusLoop = loop(async () => {
  const id = state.tracking;
  if (!id) return 3600e3;
  try {
    const s = await api.cpuStatus(id);
    if (state.tracking !== id) return STATUS_MS;
    state.lastStatus = s;
    renderProgress(s);
    if (s.done || sessionState(s) !== 'running') { finishTracking(s); return 3600e3; }
  } catch (e) {
    if (state.tracking !== id) return STATUS_MS;
    setMsg(cpuMsg, errText(`Status of ${id}`, e));
    if (e.status === 404) {
      state.tracking = null;
      stopBtn.disabled = true;
      progress.dataset.state = 'idle';
      validateCpuForm();
      return 3600e3;
    }
    return 2 * STATUS_MS;
  }
  return STATUS_MS;
}, STATUS_MS);

async function startCpu(duration, hz) {
  setMsg(cpuMsg, '');
  try {
    const r = await api.cpuStart(state.target, duration, hz);
    track(r.session_id, r);
    sessionsLoop.now();
    return r;
  } catch (e) {
    setMsg(cpuMsg, errText('Could not start the CPU profile', e));
    if (e.status === 409 && e.body && typeof e.body.session_id === 'string') {
      // someone else's profile runs: follow it, do not pop its graph up
      track(e.body.session_id, null, false);
    }
    return null;
  }
}

$('cpu-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = validateCpuForm();
  if (!f || state.tracking) return;
  startBtn.disabled = true;
  await startCpu(f.duration, f.hz);
  validateCpuForm();
});

stopBtn.addEventListener('click', async () => {
  const id = state.tracking;
  if (!id) return;
  await busy(stopBtn, async () => {
    try {
      await api.cpuStop(id);
      setMsg(cpuMsg, '');
    } catch (e) {
      setMsg(cpuMsg, errText(`Could not stop ${id}`, e));
    }
  });
  stopBtn.disabled = !state.tracking;
  statusLoop.now();
});

// ---- sessions ---------------------------------------------------------------------------

const sessTbody = $('sessions').tBodies[0];
const sessMsg = $('sessions-msg');
const onlyThis = $('sessions-this-target');
const compareBtn = $('compare');
const pick = new ComparePick();
let sessRows = [];

function renderSessions() {
  sessRows = sessionRows(state.sessions);
  pick.prune(sessRows);
  const key = JSON.stringify([sessRows, pick.ids]);
  if (key !== state.sessionsKey) {
    state.sessionsKey = key;
    const trs = sessRows.map((r) => {
      const cb = el('input', {
        type: 'checkbox', 'data-action': 'pick', 'aria-label': `Compare ${r.id}`,
        title: r.canCompare ? 'Pick two sessions to compare' : 'Only finished sessions with a profile can be compared',
      });
      cb.checked = pick.has(r.id);
      cb.disabled = !r.canCompare;
      const stateCell = el('td', {}, el('span', { class: `state ${r.state}`, text: r.state + (r.progress !== null ? ` ${Math.round(r.progress * 100)}%` : '') }));
      if (r.error) stateCell.append(el('span', { class: 'state-error', text: r.error }));
      const actions = el('td', { class: 'actions' });
      if (r.canFlame) actions.append(el('button', { type: 'button', 'data-action': 'flame', text: 'Flame graph' }));
      if (r.canDownload) actions.append(el('button', { type: 'button', 'data-action': 'download', text: 'Download' }));
      if (r.canStop) actions.append(el('button', { type: 'button', 'data-action': 'stop', text: 'Stop' }));
      if (r.canDelete) actions.append(el('button', { type: 'button', class: 'danger', 'data-action': 'delete', text: 'Delete' }));
      return el('tr', { 'data-id': r.id, 'data-state': r.state, class: pick.has(r.id) ? 'picked' : '' },
        el('td', {}, cb),
        el('td', { class: 'id', text: r.id }),
        el('td', { text: r.type }),
        el('td', { text: r.target }),
        stateCell,
        el('td', { text: r.started, title: r.startedTitle }),
        el('td', { text: r.duration }),
        el('td', { class: 'num', text: r.samples }),
        el('td', { class: 'num', text: r.size }),
        actions);
    });
    sessTbody.replaceChildren(...trs);
  }
  $('sessions-empty').hidden = sessRows.length > 0;
  const n = pick.ids.length;
  compareBtn.textContent = n === 2 ? 'Compare the two picked' : `Compare (${n}/2)`;
  compareBtn.disabled = !pick.pair(sessRows);
}

const sessionsLoop = loop(async () => {
  try {
    const r = await api.cpuSessions(onlyThis.checked ? state.target : undefined);
    state.sessions = Array.isArray(r.sessions) ? r.sessions : [];
    renderSessions();
    setMsg(sessMsg, '');
    // a session started elsewhere (or before a reload) is followed too
    if (!state.tracking) {
      const running = state.sessions.find((s) => sessionState(s) === 'running' && (!state.target || s.target === state.target));
      if (running) track(running.session_id, running, false);
    }
  } catch (e) {
    setMsg(sessMsg, errText('Sessions', e));
    return 5 * SESSIONS_MS;
  }
  return SESSIONS_MS;
}, SESSIONS_MS);

onlyThis.addEventListener('change', () => sessionsLoop.now());

sessTbody.addEventListener('change', (e) => {
  const cb = e.target.closest('input[data-action="pick"]');
  if (!cb) return;
  pick.toggle(cb.closest('tr').dataset.id, cb.checked);
  state.sessionsKey = '';
  renderSessions();
});

sessTbody.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const id = b.closest('tr').dataset.id;
  const s = state.sessions.find((x) => x.session_id === id);
  setMsg(sessMsg, '');
  await busy(b, async () => {
    try {
      switch (b.dataset.action) {
        case 'flame': await openCpuFlame(id, s); break;
        case 'download': await api.cpuDownload(id); break;
        case 'stop': await api.cpuStop(id); statusLoop.now(); break;
        case 'delete':
          await api.cpuDelete(id);
          flameCache.delete(id);
          pick.toggle(id, false);
          break;
        default: break;
      }
    } catch (err) {
      setMsg(sessMsg, errText(`${b.textContent} ${id}`, err));
    }
  });
  if (b.dataset.action !== 'flame' && b.dataset.action !== 'download') sessionsLoop.now();
});

compareBtn.addEventListener('click', () => busy(compareBtn, async () => {
  const p = pick.pair(sessRows);
  if (!p) return;
  try {
    const [before, after] = await Promise.all([cpuFlameData(p.before.id), cpuFlameData(p.after.id)]);
    panel.showDiff({
      title: 'CPU diff',
      subtitle: `${p.before.id} (${p.before.started}) → ${p.after.id} (${p.after.started})`,
      before, after, name: `diff_${p.before.id}_${p.after.id}`,
    });
  } catch (e) {
    setMsg(sessMsg, errText('Compare', e));
  }
}).then(renderSessions));

// ---- flame graphs -----------------------------------------------------------------------

const panel = createFlamePanel($('flame-panel'));
const flameCache = new Map(); // session id -> flame JSON (finished sessions never change)

async function cpuFlameData(id) {
  if (flameCache.has(id)) return flameCache.get(id);
  const data = await api.cpuFlame(id);
  flameCache.set(id, data);
  if (flameCache.size > 8) flameCache.delete(flameCache.keys().next().value);
  return data;
}

async function openCpuFlame(id, s) {
  const data = await cpuFlameData(id);
  const bits = [];
  if (s && s.target) bits.push(s.target);
  if (s && s.duration) bits.push(typeof s.duration === 'string' ? s.duration : formatDuration(s.duration * 1e9));
  if (s && typeof s.samples === 'number') bits.push(`${formatCount(s.samples)} samples`);
  if (s && s.started_at) bits.push(`started ${formatClock(s.started_at)}`);
  panel.show({
    title: `CPU profile ${id}`, subtitle: bits.join(' · '), data, name: id,
    refocus: (tagfocus) => (tagfocus ? api.cpuFlame(id, tagfocus) : cpuFlameData(id)),
  });
}

const KIND_LABEL = { heap: 'Heap', goroutine: 'Threads', block: 'Block', mutex: 'Mutex', threadcreate: 'Thread creation' };
const profMsg = $('profiles-msg');

$('profiles-card').addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const kind = b.closest('tr').dataset.kind;
  // A full thread dump interrupts blocked calls with EINTR: the operator
  // may leave blocked threads alone (see the Threads row).  Lock contention
  // is recorded only in a window: block and mutex ask for one.
  const extra = {};
  if (kind === 'goroutine' && $('threads-running-only').checked) extra.running_only = 1;
  const secs = b.closest('tr').querySelector('select.lock-seconds');
  if (secs) extra.seconds = secs.value;
  setMsg(profMsg, '');
  await busy(b, async () => {
    try {
      if (b.dataset.action === 'download') {
        await profileDownload(kind, state.target, extra);
        return;
      }
      const data = await api.flame(kind, state.target, extra);
      const stamp = new Date();
      panel.show({
        title: `${KIND_LABEL[kind]} profile`,
        subtitle: `${state.target} · taken ${formatClock(stamp.toISOString())}${extra.seconds ? ` · ${extra.seconds} s recorded` : ''}`,
        data,
        sampleType: kind === 'heap' ? $('heap-sample-type').value : undefined,
        name: `${kind}_${stamp.toISOString().replace(/[-:]/g, '').slice(0, 15)}`,
        // A new snapshot, of one thread or label's samples.
        refocus: (tagfocus) => api.flame(kind, state.target, tagfocus ? { ...extra, tagfocus } : extra),
      });
    } catch (err) {
      setMsg(profMsg, errText(`${KIND_LABEL[kind]} ${b.dataset.action === 'download' ? 'download' : 'flame graph'}`, err));
    }
  });
});

if (theme) theme.onChange(() => { chart.draw(); panel.redraw(); });

// ---- start -------------------------------------------------------------------------------

window.lynxprof = {
  state,
  ring,
  panel,
  get view() { return panel.view; },
  drawnFrames: () => panel.view.drawnFrames(),
  startCpu,
  openCpuFlame,
};

const targetsLoop = loop(loadTargets, TARGETS_MS);
(async () => {
  await loadTargets();
  targetsLoop.start(TARGETS_MS);
  memoryLoop.start();
  sessionsLoop.start();
  document.body.dataset.ready = '1';
})();
