// flame-panel.js — the flame-graph panel of the /profiling page (DOM part):
// toolbar (sample type, icicle/flame, Back, reset, regexp search with the
// share it matches, folded download), the graph, the top-functions table
// beside it and the sandwich (callers/callees) of a table row.
//
//   const panel = createFlamePanel(sectionElement);
//   panel.show({title, subtitle, data, sampleType, name});       // one profile
//   panel.showDiff({title, subtitle, before, after, name});       // two profiles
//
// Zoom history: every zoom the user makes (click, breadcrumb, keyboard) is a
// browser history entry, so both the page's Back button and the browser's
// restore the previous zoom.  A new profile starts a new chain of entries;
// older entries then mean "the root".
//
// Modules the endpoints could not symbolize (the data's "unsymbolized":
// [{path, reason, message, symbols}]) are listed in a notice above the
// graph, with the usual fix, so bare frames such as "prog+0x1194" are
// explained.  Those with "symbols": true had names from their symbol table
// but no debug info (no files or lines): a quieter list of their own.
//
// Labels: a profile whose samples carry labels (the data's "labels":
// {key: {value: total}}, e.g. thread names and request labels, with
// "labels_total") gets a "Samples" choice in the toolbar: all samples, or
// only those of one thread or label value (with its share); choosing one
// asks the caller's refocus(tagfocus) for the filtered data ("key=value",
// pprof's -tagfocus) and draws it.
//
// Test hooks: section[data-mode="none|profile|diff"], [data-tagfocus]
// (the label shown, "" for all), #flame-labels (its select), [data-back]
// (zoom depth), the canvas' data-frames / data-zoom / data-search-share,
// #flame-unsymbolized li (one per module), #flame-nodebug li (likewise),
// and panel.view.drawnFrames().

import { createFlameView } from './flame-view.js';
import { topTable, sandwich, formatValue, formatShare } from './flame-model.js';
import { saveBlob } from './api.js';

const TOP_ROWS = 300;
const ROW_HEIGHT = 18;

function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function createFlamePanel(section) {
  const win = section.ownerDocument.defaultView;
  const store = (() => { try { return win.localStorage; } catch (e) { return null; } })();

  // ---- DOM -----------------------------------------------------------------
  const title = h('h2', { id: 'flame-title', text: 'Flame graph' });
  const subtitle = h('span', { class: 'sub', id: 'flame-subtitle' });
  const closeBtn = h('button', { type: 'button', class: 'ghost', id: 'flame-close', title: 'Close the flame graph', text: 'Close' });
  const sampleSel = h('select', { id: 'flame-sample-type', 'aria-label': 'Sample type' });
  const labelSel = h('select', { id: 'flame-labels', 'aria-label': 'Samples of one thread or label' });
  const labelBox = h('label', { hidden: true, title: 'Only the samples of one thread or request label (pprof -tagfocus)' },
    'Samples ', labelSel);
  const icicleBtn = h('button', { type: 'button', id: 'flame-icicle', 'aria-pressed': 'true', text: 'Icicle' });
  const flameBtn = h('button', { type: 'button', id: 'flame-flame', 'aria-pressed': 'false', text: 'Flame' });
  const backBtn = h('button', { type: 'button', id: 'flame-back', title: 'Previous zoom (browser Back works too)', text: '← Back', disabled: true });
  const resetBtn = h('button', { type: 'button', id: 'flame-reset', title: 'Zoom out to the whole profile (0 or Esc)', text: 'Reset zoom' });
  const searchIn = h('input', {
    type: 'search', id: 'flame-search', placeholder: 'Search functions (regexp, /)',
    'aria-label': 'Search functions by regular expression', spellcheck: 'false', autocomplete: 'off',
  });
  const shareOut = h('output', { id: 'flame-search-share', 'data-search-share': '0', 'aria-live': 'polite' });
  const foldedBtn = h('button', { type: 'button', id: 'flame-folded', title: 'Folded stacks (flamegraph.pl, speedscope, inferno)', text: 'Download folded' });
  const legend = h('span', { class: 'diff-legend', id: 'flame-legend', hidden: true },
    h('i', { class: 'swatch grew' }), ' grew ', h('i', { class: 'swatch shrank' }), ' shrank (share of total, widths from the newer profile)');
  const msg = h('p', { class: 'msg', id: 'flame-msg', role: 'alert' });
  const symList = h('ul');
  const symNotice = h('div', { class: 'sym-notice', id: 'flame-unsymbolized', role: 'note', hidden: true },
    h('strong', { text: 'Some frames have no symbols.' }),
    symList,
    h('p', { class: 'sub', text: 'Make each file readable by the endpoints\' user (e.g. chgrp lynxprof FILE; chmod g+r FILE), '
      + 'or install its debug info where that user can read it. See "Troubleshooting" in the README.' }));
  const nodebugList = h('ul');
  const nodebugNotice = h('details', { class: 'sym-notice', id: 'flame-nodebug', role: 'note', hidden: true },
    h('summary', { text: 'Some modules have no debug info: function names only, no files or lines.' }),
    nodebugList,
    h('p', { class: 'sub', text: 'Install their debug files (e.g. the -dbgsym packages) under the debug directory, '
      + 'or next to each binary as its .gnu_debuglink names it. See "Stripped binaries" in the README.' }));
  const details = h('div', { class: 'flame-details', id: 'flame-details', 'aria-live': 'off' }, '\u00a0');
  const graph = h('div', { class: 'flame-graph', id: 'flame-graph' });
  const main = h('div', { class: 'flame-main' }, graph, details);
  const topBody = h('tbody');
  const topHead = h('thead', {}, h('tr', {},
    h('th', { scope: 'col', text: 'Function' }),
    h('th', { scope: 'col', class: 'num sortable', 'data-sort': 'self', 'aria-sort': 'descending', text: 'Self' }),
    h('th', { scope: 'col', class: 'num', text: '%' }),
    h('th', { scope: 'col', class: 'num sortable', 'data-sort': 'total', text: 'Total' }),
    h('th', { scope: 'col', class: 'num', text: '%' })));
  const topNote = h('p', { class: 'sub', id: 'flame-top-note' });
  const top = h('aside', { class: 'flame-top', 'aria-label': 'Top functions' },
    h('table', { id: 'flame-top', class: 'data' }, topHead, topBody), topNote);
  const swTitle = h('h3', { id: 'sandwich-title' });
  const swCallersEl = h('div', { class: 'sandwich-graph', id: 'sandwich-callers' });
  const swCalleesEl = h('div', { class: 'sandwich-graph', id: 'sandwich-callees' });
  const swClose = h('button', { type: 'button', class: 'ghost', text: 'Close', title: 'Close callers/callees' });
  const sw = h('div', { class: 'sandwich', id: 'sandwich', hidden: true },
    h('div', { class: 'row' }, swTitle, swClose),
    h('div', { class: 'sandwich-grid' },
      h('div', {}, h('h4', { text: 'Callers (inverted: each row down is one caller further out)' }), swCallersEl),
      h('div', {}, h('h4', { text: 'Callees' }), swCalleesEl)));

  section.append(
    h('div', { class: 'card-head' }, title, subtitle, closeBtn),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Flame graph controls' },
      h('label', {}, 'Sample type ', sampleSel),
      labelBox,
      h('span', { class: 'seg', role: 'group', 'aria-label': 'Orientation' }, icicleBtn, flameBtn),
      backBtn, resetBtn, searchIn, shareOut, foldedBtn, legend),
    msg,
    symNotice,
    nodebugNotice,
    h('div', { class: 'flame-body' }, main, top),
    sw,
    h('p', { class: 'hint', text: 'Click a frame to zoom · hover for details · keys: ↑ parent, ↓ heaviest child, ←/→ siblings, Enter zoom, Esc/0 reset, / search · click a table row for its callers and callees.' }));

  // ---- state ---------------------------------------------------------------
  let mode = 'none';
  let current = null;        // {data} or {before, after}
  let name = 'profile';
  let chainKey = 0;          // distinguishes zoom chains of different profiles
  let restoring = false;
  let depth = 0;             // zoom entries of this chain before the current one
  let sortBy = 'self';
  let rows = [];
  let swViews = null;
  let searchTimer = 0;
  let refocus = null;        // tagfocus -> Promise of data, or null
  let focusSeq = 0;          // the latest label choice; older answers are dropped

  const view = createFlameView(graph, {
    history: false,
    rowHeight: ROW_HEIGHT,
    orientation: store && store.getItem('lynxprof-flame-orientation') === 'flame' ? 'flame' : 'icicle',
    keyboardTarget: main,
    onZoom: (info) => {
      if (restoring) return;
      depth++;
      const st = { ...(win.history.state || {}) };
      st.lynxFlame = { key: chainKey, path: info.path, depth };
      try { win.history.pushState(st, ''); } catch (e) { /* sandboxed */ }
      updateBack();
    },
    onHover: (info) => showDetails(info),
    onSelect: (info) => { if (info) showDetails(info); },
  });
  const canvas = view.canvas;

  function updateBack() {
    backBtn.disabled = depth <= 0;
    section.dataset.back = String(depth);
  }

  function quietly(fn) {
    restoring = true;
    try { fn(); } finally { restoring = false; }
  }

  win.addEventListener('popstate', (e) => {
    if (mode === 'none') return;
    const s = e.state && e.state.lynxFlame;
    quietly(() => {
      if (s && s.key === chainKey) {
        if (!view.zoomTo(s.path, { push: false })) view.reset({ push: false });
        depth = s.depth;
      } else {
        view.reset({ push: false });
        depth = 0;
      }
    });
    updateBack();
  });

  function unitOf() {
    const t = view.tree;
    return t && t.sampleType ? t.sampleType.unit : 'count';
  }

  function showDetails(info) {
    if (!info) { details.textContent = '\u00a0'; delete details.dataset.name; return; }
    const u = info.unit;
    let s = `${info.name} — total ${formatValue(info.total, u)} (${formatShare(info.share)}), self ${formatValue(info.self, u)} (${formatShare(info.selfShare)})`;
    if (typeof info.delta === 'number') {
      s += `, share ${formatShare(info.shareBefore)} → ${formatShare(info.shareAfter)} (${info.delta > 0 ? '+' : ''}${(info.delta * 100).toFixed(2)} pp)`;
    }
    details.textContent = s;
    details.dataset.name = info.name;
  }

  function setOrientation(o) {
    view.setOrientation(o);
    icicleBtn.setAttribute('aria-pressed', String(o !== 'flame'));
    flameBtn.setAttribute('aria-pressed', String(o === 'flame'));
    if (store) { try { store.setItem('lynxprof-flame-orientation', o); } catch (e) { /* full */ } }
  }

  function fillSampleTypes(data, preferred) {
    sampleSel.textContent = '';
    const types = Array.isArray(data && data.sample_types) ? data.sample_types : [];
    types.forEach((t, i) => sampleSel.append(h('option', { value: String(i), text: `${t.type} (${t.unit})` })));
    let idx = -1;
    if (typeof preferred === 'string') idx = types.findIndex((t) => t.type === preferred);
    if (idx < 0 && Number.isInteger(data && data.default_sample_type)) idx = data.default_sample_type;
    if (idx < 0 || idx >= types.length) idx = 0;
    sampleSel.value = String(idx);
    sampleSel.disabled = types.length < 2;
    return types.length ? idx : undefined;
  }

  // The labels of the data as choices: thread first, then the other keys;
  // values by their share, largest first.  Their text comes from the
  // target (thread names, request labels): textContent only.
  function fillLabels(data) {
    labelSel.textContent = '';
    labelSel.append(h('option', { value: '', text: 'All samples' }));
    const labels = data && data.labels && typeof data.labels === 'object' ? data.labels : {};
    const total = Number(data && data.labels_total) || 0;
    const keys = Object.keys(labels).sort((a, b) => (a === 'thread' ? -1 : b === 'thread' ? 1 : a.localeCompare(b)));
    for (const key of keys) {
      const vals = labels[key] && typeof labels[key] === 'object' ? labels[key] : {};
      const group = h('optgroup', { label: key === 'thread' ? 'thread' : `label ${key}` });
      for (const [v, n] of Object.entries(vals).sort((a, b) => b[1] - a[1])) {
        const share = total > 0 ? ` — ${formatShare(Number(n) / total)}` : '';
        group.append(h('option', { value: `${key}=${v}`, text: `${key === 'thread' ? '' : key + '='}${v}${share}` }));
      }
      if (group.children.length) labelSel.append(group);
    }
    labelSel.value = '';
    labelBox.hidden = !refocus || labelSel.options.length < 2;
    section.dataset.tagfocus = '';
  }

  async function focusLabel(tagfocus) {
    if (!refocus || mode !== 'profile') return;
    const seq = ++focusSeq;
    section.dataset.tagfocus = tagfocus;
    section.dataset.loading = 'true';
    msg.textContent = '';
    try {
      const data = await refocus(tagfocus);
      if (seq !== focusSeq || mode !== 'profile') return;
      current = { data };
      const st = Number(sampleSel.value);
      closeSandwich();
      view.setData(data, Number.isInteger(st) ? st : undefined);
      fitHeight();
      renderTop();
      runSearch();
      if (!view.tree || !(view.tree.total > 0)) msg.textContent = 'No samples with this label.';
    } catch (e) {
      if (seq === focusSeq) msg.textContent = `Could not load the samples of ${tagfocus || 'all threads'}: ${e && e.message ? e.message : e}`;
    } finally {
      if (seq === focusSeq) delete section.dataset.loading;
    }
  }

  // ---- top table and sandwich ------------------------------------------------
  function renderTop() {
    const t = view.tree;
    rows = t ? topTable(t) : [];
    if (sortBy === 'total') rows.sort((a, b) => (b.total - a.total) || (b.self - a.self));
    for (const th of topHead.querySelectorAll('th[data-sort]')) {
      th.setAttribute('aria-sort', th.dataset.sort === sortBy ? 'descending' : 'none');
    }
    const u = unitOf();
    topBody.textContent = '';
    const frag = document.createDocumentFragment();
    for (const r of rows.slice(0, TOP_ROWS)) {
      const tr = h('tr', { tabindex: '0', 'data-fn': String(r.fn), title: `${r.name}\nclick: callers and callees` },
        h('td', { class: 'fn', text: r.name }),
        h('td', { class: 'num', text: formatValue(r.self, u) }),
        h('td', { class: 'num', text: formatShare(r.selfShare) }),
        h('td', { class: 'num', text: formatValue(r.total, u) }),
        h('td', { class: 'num', text: formatShare(r.totalShare) }));
      frag.append(tr);
    }
    topBody.append(frag);
    topNote.textContent = rows.length > TOP_ROWS ? `${TOP_ROWS} of ${rows.length} functions shown` : `${rows.length} functions`;
  }

  function openSandwich(fn) {
    const t = view.tree;
    if (!t) return;
    const s = sandwich(t, fn);
    for (const tr of topBody.querySelectorAll('tr')) tr.classList.toggle('selected', Number(tr.dataset.fn) === fn);
    const u = unitOf();
    swTitle.textContent = `${s.name} — self ${formatValue(s.self, u)} (${formatShare(t.total > 0 ? s.self / t.total : 0)}), ` +
      `total ${formatValue(s.total, u)} (${formatShare(t.total > 0 ? s.total / t.total : 0)})`;
    sw.hidden = false;
    sw.dataset.fn = s.name;
    if (!swViews) {
      swViews = {
        callers: createFlameView(swCallersEl, { history: false, rowHeight: 16, fontSize: 11 }),
        callees: createFlameView(swCalleesEl, { history: false, rowHeight: 16, fontSize: 11 }),
      };
    }
    swViews.callers.setTree(s.callers);
    swViews.callees.setTree(s.callees);
    sw.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  function closeSandwich() {
    sw.hidden = true;
    delete sw.dataset.fn;
    for (const tr of topBody.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  }

  // ---- search ------------------------------------------------------------------
  function runSearch() {
    searchTimer = 0;
    const res = view.search(searchIn.value);
    searchIn.classList.toggle('invalid', !!res.error);
    searchIn.setAttribute('aria-invalid', res.error ? 'true' : 'false');
    shareOut.dataset.searchShare = res.share.toFixed(4);
    shareOut.dataset.count = String(res.count);
    if (res.error) shareOut.textContent = res.error;
    else if (!searchIn.value) shareOut.textContent = '';
    else shareOut.textContent = `${formatShare(res.share)} of total in ${res.count} frame${res.count === 1 ? '' : 's'}`;
    section.dataset.searchShare = shareOut.dataset.searchShare;
  }

  // ---- events ----------------------------------------------------------------
  closeBtn.addEventListener('click', () => api.close());
  labelSel.addEventListener('change', () => focusLabel(labelSel.value));
  icicleBtn.addEventListener('click', () => setOrientation('icicle'));
  flameBtn.addEventListener('click', () => setOrientation('flame'));
  backBtn.addEventListener('click', () => { if (depth > 0) win.history.back(); });
  resetBtn.addEventListener('click', () => view.reset());
  sampleSel.addEventListener('change', () => {
    const st = Number(sampleSel.value);
    if (mode === 'diff') view.setDiff(current.before, current.after, st); else view.setData(current.data, st);
    renderTop();
    closeSandwich();
    runSearch();
  });
  searchIn.addEventListener('input', () => {
    if (searchTimer) win.clearTimeout(searchTimer);
    searchTimer = win.setTimeout(runSearch, 80);
  });
  searchIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { if (searchTimer) win.clearTimeout(searchTimer); runSearch(); }
    if (e.key === 'Escape') { searchIn.value = ''; runSearch(); canvas.focus(); e.preventDefault(); }
  });
  section.addEventListener('keydown', (e) => {
    if (e.key === '/' && !/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) {
      searchIn.focus();
      searchIn.select();
      e.preventDefault();
    }
  });
  // keys inside the sandwich views are theirs, not the main graph's
  sw.addEventListener('keydown', (e) => e.stopPropagation());
  foldedBtn.addEventListener('click', () => {
    if (!view.tree) return;
    const focus = labelSel.value ? `.${labelSel.value.replace(/[^A-Za-z0-9._=-]/g, '_')}` : '';
    saveBlob(new Blob([view.folded()], { type: 'text/plain' }), `${name}${focus}.folded.txt`);
  });
  topHead.addEventListener('click', (e) => {
    const th = e.target.closest('th[data-sort]');
    if (th) { sortBy = th.dataset.sort; renderTop(); }
  });
  topBody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-fn]');
    if (tr) openSandwich(Number(tr.dataset.fn));
  });
  topBody.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr[data-fn]');
    if (tr && (e.key === 'Enter' || e.key === ' ')) { openSandwich(Number(tr.dataset.fn)); e.preventDefault(); e.stopPropagation(); }
  });
  swClose.addEventListener('click', closeSandwich);

  // The graph is as tall as the profile is deep (plus the breadcrumb), between
  // a minimum and most of the viewport; deeper profiles scroll inside it.
  function fitHeight() {
    const t = view.tree;
    const rowsNeeded = t ? t.maxDepth + 1 : 10;
    const want = rowsNeeded * ROW_HEIGHT + 34;
    const cap = Math.max(260, Math.min(640, Math.round(win.innerHeight * 0.7)));
    graph.style.height = Math.max(200, Math.min(cap, want)) + 'px';
  }

  // The modules without symbols of these profiles, each path once.  Their
  // text comes from the target's module list: textContent only.
  function showUnsymbolized(...datas) {
    const seen = new Map();
    const nodebug = new Map();
    for (const d of datas) {
      const list = d && Array.isArray(d.unsymbolized) ? d.unsymbolized : [];
      for (const u of list) {
        const into = u && u.symbols === true ? nodebug : seen;
        if (u && typeof u.path === 'string' && !into.has(u.path)) {
          into.set(u.path, typeof u.message === 'string' ? u.message : `no symbols for ${u.path}`);
        }
      }
    }
    symList.replaceChildren(...[...seen.values()].map((m) => h('li', { text: m })));
    symNotice.hidden = seen.size === 0;
    nodebugList.replaceChildren(...[...nodebug.values()].map((m) => h('li', { text: m })));
    nodebugNotice.hidden = nodebug.size === 0;
  }

  function install(newMode, fill) {
    const first = mode === 'none';
    section.hidden = false;
    mode = newMode;
    section.dataset.mode = mode;
    legend.hidden = mode !== 'diff';
    msg.textContent = '';
    chainKey++;
    depth = 0;
    updateBack();
    closeSandwich();
    fill();
    fitHeight();
    quietly(() => view.reset({ push: false }));
    renderTop();
    runSearch();
    showDetails(null);
    if (first) section.scrollIntoView({ block: 'start', behavior: 'smooth' });
    canvas.focus({ preventScroll: true });
  }

  const api = {
    view,
    /** Show one profile.  sampleType: preferred sample type name (e.g. "inuse_space").
     *  refocus(tagfocus): the same profile with only the samples of one label
     *  ("key=value", "" for all), when the data has labels to choose from. */
    show({ title: t, subtitle: s = '', data, sampleType, name: n, refocus: rf }) {
      current = { data };
      refocus = typeof rf === 'function' ? rf : null;
      focusSeq++;
      fillLabels(data);
      name = n || 'profile';
      title.textContent = t;
      subtitle.textContent = s;
      install('profile', () => view.setData(data, fillSampleTypes(data, sampleType)));
      showUnsymbolized(data);
      const empty = !view.tree || !(view.tree.total > 0);
      if (empty) msg.textContent = 'This profile has no samples.';
      return api;
    },
    /** Differential view of two profiles of the same kind (after is drawn). */
    showDiff({ title: t, subtitle: s = '', before, after, name: n }) {
      current = { before, after };
      refocus = null;
      focusSeq++;
      fillLabels(null);
      name = n || 'diff';
      title.textContent = t;
      subtitle.textContent = s;
      install('diff', () => view.setDiff(before, after, fillSampleTypes(after)));
      showUnsymbolized(before, after);
      return api;
    },
    /** Show a message in the panel (e.g. a failed load), keeping the graph. */
    message(text) { msg.textContent = text; section.hidden = false; },
    /** Find a function in the graph: put an exact-name regexp into the search box. */
    searchFor(fnName) { searchIn.value = '^' + escapeRegExp(fnName) + '$'; runSearch(); },
    close() {
      section.hidden = true;
      mode = 'none';
      section.dataset.mode = mode;
    },
    redraw() {
      view.redraw();
      if (swViews && !sw.hidden) { swViews.callers.redraw(); swViews.callees.redraw(); }
    },
    get mode() { return mode; },
    get sandwichViews() { return swViews; },
  };
  section.dataset.mode = mode;
  updateBack();
  if (view.orientation === 'flame') { icicleBtn.setAttribute('aria-pressed', 'false'); flameBtn.setAttribute('aria-pressed', 'true'); }
  return api;
}
