// flame-view.js — canvas flame graph (DOM part).  Pure logic is in flame-model.js.
//
//   const view = createFlameView(container, {onSelect, onZoom, searchInput});
//   view.setData(profile, sampleTypeIndex);
//
// One <canvas> sized to the visible area (devicePixelRatio aware); taller graphs
// scroll vertically (the canvas is sticky, only visible rows are drawn).
// Colours come from CSS custom properties on the container:
//   --flame-bg, --flame-text, --flame-dim, --flame-dim-text, --flame-merged,
//   --flame-outline, --flame-font, --flame-tip-bg, --flame-tip-text,
//   --flame-tip-border, --flame-crumb-text, --flame-crumb-link

import {
  buildTree, buildDiff, layout, search as searchTree, findNode, pathOf, ancestorsOf,
  nodeInfo, formatValue, formatShare, toFolded,
} from './flame-model.js';
import { warmColor, diffColor } from './flame-color.js';

const DEFAULTS = {
  rowHeight: 18,
  fontSize: 12,
  orientation: 'icicle',   // 'icicle' (root at top) | 'flame' (root at bottom)
  minFrameWidth: 1,        // CSS px; narrower frames are skipped or merged into "…"
  history: true,           // pushState on zoom, restore on popstate
  historyKey: 'flameZoom', // key in history.state (use distinct keys for several views)
  searchInput: null,       // <input> wired to search(); '/' focuses it
  keyboardTarget: null,    // element/document receiving keys (default: the canvas)
  ignoreCase: false,
  maxCanvasHeight: 4000,   // CSS px cap for auto-height containers
  onSelect: null,          // (info|null) => void
  onZoom: null,            // (info) => void
  onHover: null,           // (info|null) => void
};

function el(tag, cls, style) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (style) e.style.cssText = style;
  return e;
}

/**
 * @param {HTMLElement} container
 * @param {object} [options] see DEFAULTS
 */
export function createFlameView(container, options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const doc = container.ownerDocument;
  const win = doc.defaultView;

  // ---- DOM -----------------------------------------------------------------
  const rootEl = el('div', 'flame-view',
    'position:relative;display:flex;flex-direction:column;height:100%;min-height:0;');
  const crumbs = el('nav', 'flame-breadcrumb',
    'flex:none;font:12px/1.6 var(--flame-font, system-ui, sans-serif);padding:2px 0;' +
    'color:var(--flame-crumb-text, inherit);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;');
  crumbs.setAttribute('aria-label', 'Flame graph zoom path');
  const scroller = el('div', 'flame-scroll',
    'flex:1 1 auto;min-height:0;overflow-x:hidden;overflow-y:auto;position:relative;');
  const canvas = el('canvas', 'flame-canvas',
    'display:block;position:sticky;top:0;width:100%;height:0;outline:none;cursor:pointer;');
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'Flame graph');
  const spacer = el('div', 'flame-spacer', 'height:0;');
  const tip = el('div', 'flame-tooltip',
    'position:absolute;z-index:10;pointer-events:none;display:none;max-width:min(520px,90%);' +
    'padding:6px 8px;border-radius:4px;font:12px/1.45 var(--flame-font, system-ui, sans-serif);' +
    'background:var(--flame-tip-bg, rgba(255,255,255,0.97));color:var(--flame-tip-text, #111);' +
    'border:1px solid var(--flame-tip-border, rgba(0,0,0,0.25));box-shadow:0 2px 8px rgba(0,0,0,0.25);' +
    'word-break:break-all;');
  tip.setAttribute('role', 'tooltip');
  scroller.append(canvas, spacer);
  rootEl.append(crumbs, scroller, tip);
  container.appendChild(rootEl);
  const ctx = canvas.getContext('2d');

  // ---- state ---------------------------------------------------------------
  let tree = null;
  let zoom = null;
  let selected = null;
  let hover = null;
  let orientation = opts.orientation === 'flame' ? 'flame' : 'icicle';
  let searchRes = null;
  let searchText = '';
  let lay = null;
  let layKey = '';
  let drawn = [];          // frames drawn (CSS px), for hit testing and tests
  let rows = new Map();    // depth -> drawn frames sorted by x
  let geom = { width: 0, viewH: 0, totalH: 0, rowH: opts.rowHeight };
  let rafId = 0;
  let destroyed = false;
  let firstData = true;
  const colorCache = new Map();
  const textWidth = new Map();
  const timings = { build: 0, layout: 0, draw: 0 };

  const cssVar = (cs, name, dflt) => {
    const v = cs.getPropertyValue(name).trim();
    return v || dflt;
  };

  // ---- drawing -------------------------------------------------------------
  function frameColor(f, theme) {
    if (f.merged) return theme.merged;
    const n = f.node;
    if (tree.diff) return diffColor(n.delta, tree.maxAbsDelta);
    if (searchRes && searchRes.regex && !searchRes.matched[n.id]) return theme.dim;
    let c = colorCache.get(n.name);
    if (!c) { c = warmColor(n.name); colorCache.set(n.name, c); }
    return c;
  }

  function measure(s) {
    let w = textWidth.get(s);
    if (w === undefined) {
      w = ctx.measureText(s).width;
      if (textWidth.size > 20000) textWidth.clear();
      textWidth.set(s, w);
    }
    return w;
  }

  function fitLabel(name, maxW) {
    if (maxW <= 0) return null;
    const full = measure(name);
    if (full <= maxW) return name;
    if (measure('W…') > maxW) return null;
    let n = Math.max(1, Math.floor(name.length * maxW / full));
    let s = name.slice(0, n) + '…';
    while (n > 1 && ctx.measureText(s).width > maxW) { n--; s = name.slice(0, n) + '…'; }
    return ctx.measureText(s).width <= maxW ? s : null;
  }

  function rowY(depth) {
    const rh = geom.rowH;
    return orientation === 'flame' ? geom.totalH - (depth + 1) * rh : depth * rh;
  }

  function computeGeometry() {
    const rh = opts.rowHeight;
    const width = Math.max(1, scroller.clientWidth);
    const key = `${width}|${zoom ? zoom.id : -1}|${tree ? tree.nodes.length : 0}`;
    if (key !== layKey || !lay) {
      const t0 = performance.now();
      lay = tree ? layout(tree, zoom, { minWidth: opts.minFrameWidth / width }) : null;
      timings.layout = performance.now() - t0;
      layKey = key;
    }
    const contentH = lay ? (lay.maxDepth + 1) * rh : 0;
    // measure available height: canvas 0 tall, spacer holding the content
    canvas.style.height = '0px';
    spacer.style.height = contentH + 'px';
    scroller.style.maxHeight = opts.maxCanvasHeight + 'px';
    const avail = scroller.clientHeight;
    const viewH = Math.max(rh, Math.min(avail || contentH, opts.maxCanvasHeight));
    canvas.style.height = viewH + 'px';
    spacer.style.height = Math.max(0, contentH - viewH) + 'px';
    geom = { width, viewH, contentH, totalH: Math.max(contentH, viewH), rowH: rh };
  }

  function draw() {
    rafId = 0;
    if (destroyed) return;
    const t0 = performance.now();
    computeGeometry();
    const { width, viewH, rowH } = geom;
    const dpr = win.devicePixelRatio || 1;
    const cw = Math.round(width * dpr);
    const ch = Math.round(viewH * dpr);
    if (canvas.width !== cw) canvas.width = cw;
    if (canvas.height !== ch) canvas.height = ch;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const cs = win.getComputedStyle(container);
    const theme = {
      bg: cssVar(cs, '--flame-bg', ''),
      text: cssVar(cs, '--flame-text', '#1b1b1b'),
      dim: cssVar(cs, '--flame-dim', 'rgba(160,160,160,0.35)'),
      dimText: cssVar(cs, '--flame-dim-text', 'rgba(0,0,0,0.45)'),
      merged: cssVar(cs, '--flame-merged', 'rgba(150,150,150,0.45)'),
      outline: cssVar(cs, '--flame-outline', '#1e5bd8'),
      font: cssVar(cs, '--flame-font', 'system-ui, -apple-system, "Segoe UI", sans-serif'),
    };
    ctx.clearRect(0, 0, width, viewH);
    if (theme.bg) { ctx.fillStyle = theme.bg; ctx.fillRect(0, 0, width, viewH); }
    ctx.font = `${opts.fontSize}px ${theme.font}`;
    ctx.textBaseline = 'middle';
    const fontKey = ctx.font;
    if (textWidth.fontKey !== fontKey) { textWidth.clear(); textWidth.fontKey = fontKey; }

    drawn = [];
    rows = new Map();
    const scrollTop = scroller.scrollTop;
    let hoverRect = null;
    let selRect = null;
    if (lay) {
      const frames = lay.frames;
      const zoomDepth = zoom.depth;
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i];
        const y = rowY(f.depth) - scrollTop;
        if (y + rowH <= 0 || y >= viewH) continue;
        const x0 = f.x * width;
        const x1 = (f.x + f.w) * width;
        const px = Math.round(x0);
        const pw = Math.max(1, Math.round(x1) - px);
        const gap = pw > 3 ? 1 : 0;
        const n = f.node;
        const matched = !!(n && searchRes && searchRes.regex && searchRes.matched[n.id]);
        const dimmed = !f.merged && !tree.diff && searchRes && searchRes.regex && !matched;
        ctx.globalAlpha = n && f.depth < zoomDepth ? 0.75 : 1;
        ctx.fillStyle = frameColor(f, theme);
        ctx.fillRect(px, y, pw - gap, rowH - 1);
        ctx.globalAlpha = 1;
        const name = f.merged ? '…' : n.name;
        if (pw > 14) {
          const label = fitLabel(name, pw - gap - 6);
          if (label) {
            ctx.fillStyle = dimmed ? theme.dimText : theme.text;
            ctx.fillText(label, px + 3, y + rowH / 2);
          }
        }
        const rec = {
          name, x: px, y, w: pw - gap || 1, h: rowH - 1, depth: f.depth,
          total: f.merged ? f.total : n.total, self: f.merged ? 0 : n.self,
          matched, merged: !!f.merged,
        };
        if (tree.diff && n) rec.delta = n.delta;
        Object.defineProperty(rec, 'frame', { value: f, enumerable: false });
        Object.defineProperty(rec, 'pw', { value: pw, enumerable: false });
        drawn.push(rec);
        let r = rows.get(f.depth);
        if (!r) { r = []; rows.set(f.depth, r); }
        r.push(rec);
        if (n && n === hover) hoverRect = rec;
        if (n && n === selected) selRect = rec;
      }
    }
    for (const r of rows.values()) r.sort((a, b) => a.x - b.x);
    ctx.strokeStyle = theme.outline;
    if (selRect) { ctx.lineWidth = 2; ctx.strokeRect(selRect.x + 1, selRect.y + 1, selRect.w - 2, selRect.h - 2); }
    if (hoverRect && hoverRect !== selRect) { ctx.lineWidth = 1; ctx.strokeRect(hoverRect.x + 0.5, hoverRect.y + 0.5, hoverRect.w - 1, hoverRect.h - 1); }

    canvas.dataset.frames = String(drawn.length);
    canvas.dataset.zoom = zoom ? zoom.name : '';
    canvas.dataset.orientation = orientation;
    canvas.dataset.searchShare = (searchRes && searchRes.regex ? searchRes.share : 0).toFixed(4);
    timings.draw = performance.now() - t0;
  }

  function scheduleDraw() {
    if (!rafId && !destroyed) rafId = win.requestAnimationFrame(draw);
  }

  function drawNow() {
    if (rafId) { win.cancelAnimationFrame(rafId); rafId = 0; }
    draw();
  }

  // ---- breadcrumb ----------------------------------------------------------
  function renderCrumbs() {
    crumbs.textContent = '';
    if (!tree) return;
    const chain = [...ancestorsOf(zoom), zoom];
    chain.forEach((n, i) => {
      if (i) crumbs.append(doc.createTextNode(' › '));
      if (n === zoom) {
        const s = el('span', 'flame-crumb flame-crumb-current', 'font-weight:600;');
        s.textContent = n.name;
        crumbs.append(s);
      } else {
        const b = el('button', 'flame-crumb',
          'all:unset;cursor:pointer;text-decoration:underline;color:var(--flame-crumb-link, #1e5bd8);');
        b.type = 'button';
        b.textContent = n.name;
        b.addEventListener('click', () => setZoom(n, true));
        crumbs.append(b);
      }
    });
    crumbs.title = chain.map((n) => n.name).join(' › ');
  }

  // ---- tooltip -------------------------------------------------------------
  function showTip(rec, clientX, clientY) {
    if (!rec || !tree) { tip.style.display = 'none'; return; }
    const unit = tree.sampleType ? tree.sampleType.unit : 'count';
    tip.textContent = '';
    const line = (label, value) => {
      const d = el('div');
      if (label) { const b = el('span', '', 'opacity:0.7;'); b.textContent = label + ' '; d.append(b); }
      d.append(doc.createTextNode(value));
      tip.append(d);
    };
    const title = el('div', '', 'font-weight:600;margin-bottom:2px;');
    if (rec.merged) {
      const f = rec.frame;
      title.textContent = `${f.count} small frame${f.count === 1 ? '' : 's'}`;
      tip.append(title);
      line('Total:', `${formatValue(f.total, unit)} (${formatShare(tree.total > 0 ? f.total / tree.total : 0)})`);
    } else {
      const n = rec.frame.node;
      const info = nodeInfo(tree, n);
      title.textContent = n.name;
      tip.append(title);
      line('Total:', `${formatValue(n.total, unit)} (${formatShare(info.share)} of all` +
        (zoom && zoom !== tree.root && zoom.total > 0 ? `, ${formatShare(n.total / zoom.total)} of zoom)` : ')'));
      line('Self:', `${formatValue(n.self, unit)} (${formatShare(info.selfShare)})`);
      if (tree.diff) {
        const sign = n.delta > 0 ? '+' : '';
        line('Share:', `${formatShare(n.shareBefore)} → ${formatShare(n.shareAfter)} (${sign}${(n.delta * 100).toFixed(2)} pp)`);
      }
      if (searchRes && searchRes.regex && searchRes.matched[n.id]) line('', 'matches search');
    }
    tip.style.display = 'block';
    const box = rootEl.getBoundingClientRect();
    let left = clientX - box.left + 14;
    let top = clientY - box.top + 16;
    const tw = tip.offsetWidth;
    const th = tip.offsetHeight;
    if (left + tw > box.width) left = Math.max(0, clientX - box.left - tw - 10);
    if (top + th > box.height && clientY - box.top - th - 8 >= 0) top = clientY - box.top - th - 8;
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }

  function tipForNode(n) {
    const rec = drawn.find((r) => r.frame.node === n);
    if (!rec) { tip.style.display = 'none'; return; }
    const cb = canvas.getBoundingClientRect();
    showTip(rec, cb.left + rec.x + Math.min(rec.w, 40), cb.top + rec.y + rec.h - 8);
  }

  // ---- hit testing ---------------------------------------------------------
  function hitTest(clientX, clientY) {
    const cb = canvas.getBoundingClientRect();
    const x = clientX - cb.left;
    const y = clientY - cb.top + scroller.scrollTop;
    const rh = geom.rowH;
    const depth = orientation === 'flame' ? Math.floor((geom.totalH - y) / rh) : Math.floor(y / rh);
    const r = rows.get(depth);
    if (!r) return null;
    let lo = 0;
    let hi = r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = r[mid];
      if (x < f.x) hi = mid - 1;
      else if (x >= f.x + f.pw) lo = mid + 1;
      else return f;
    }
    return null;
  }

  // ---- zoom / selection ----------------------------------------------------
  function info(n) { return n && tree ? nodeInfo(tree, n) : null; }

  function setZoom(n, push) {
    if (!tree) return;
    const target = n || tree.root;
    const changed = target !== zoom;
    zoom = target;
    if (changed && push && opts.history && win.history && win.history.pushState) {
      const st = { ...(win.history.state || {}) };
      st[opts.historyKey] = pathOf(zoom);
      try { win.history.pushState(st, ''); } catch (e) { /* sandboxed */ }
    }
    renderCrumbs();
    // keep the zoom root in view
    drawNow();
    const y = rowY(zoom.depth);
    if (y < scroller.scrollTop || y + geom.rowH > scroller.scrollTop + geom.viewH) {
      scroller.scrollTop = orientation === 'flame' ? Math.max(0, y + geom.rowH - geom.viewH) : y;
      drawNow();
    }
    if (changed && opts.onZoom) opts.onZoom(info(zoom));
  }

  function select(n, showTooltip) {
    selected = n || null;
    drawNow();
    if (selected) {
      // scroll the selection into view
      const y = rowY(selected.depth);
      if (y < scroller.scrollTop) { scroller.scrollTop = y; drawNow(); }
      else if (y + geom.rowH > scroller.scrollTop + geom.viewH) { scroller.scrollTop = y + geom.rowH - geom.viewH; drawNow(); }
      if (showTooltip) tipForNode(selected);
    }
    if (opts.onSelect) opts.onSelect(info(selected));
  }

  function onPopState(e) {
    if (!tree) return;
    const p = e.state && e.state[opts.historyKey];
    const n = (p && findNode(tree, p)) || tree.root;
    setZoom(n, false);
  }

  // ---- events --------------------------------------------------------------
  function onMouseMove(e) {
    const rec = hitTest(e.clientX, e.clientY);
    const n = rec ? rec.frame.node : null;
    showTip(rec, e.clientX, e.clientY);
    if (n !== hover) {
      hover = n;
      scheduleDraw();
      if (opts.onHover) opts.onHover(info(n));
    }
  }

  function onMouseLeave() {
    tip.style.display = 'none';
    if (hover) { hover = null; scheduleDraw(); if (opts.onHover) opts.onHover(null); }
  }

  function onClick(e) {
    const rec = hitTest(e.clientX, e.clientY);
    if (!rec || rec.merged) return;
    const n = rec.frame.node;
    selected = n;
    setZoom(n, true);
    if (opts.onSelect) opts.onSelect(info(n));
  }

  function isEditable(t) {
    if (!t || !t.tagName) return false;
    const tag = t.tagName;
    return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable;
  }

  function onKeyDown(e) {
    if (!tree || e.ctrlKey || e.metaKey || e.altKey) return;
    if (isEditable(e.target)) return;
    const cur = selected || zoom;
    let handled = true;
    switch (e.key) {
      case 'ArrowUp': case 'p':
        if (cur.parent) select(cur.parent, true);
        break;
      case 'ArrowDown': case 'c':
        if (cur.children.length) select(cur.children[0], true);
        break;
      case 'ArrowLeft': case 'ArrowRight': {
        const p = cur.parent;
        if (p) {
          const i = p.children.indexOf(cur) + (e.key === 'ArrowLeft' ? -1 : 1);
          if (i >= 0 && i < p.children.length) select(p.children[i], true);
        }
        break;
      }
      case 'Enter':
        if (selected) setZoom(selected, true);
        break;
      case 'Escape': case '0':
        tip.style.display = 'none';
        selected = null;
        setZoom(tree.root, true);
        if (opts.onSelect) opts.onSelect(null);
        break;
      case '/':
        if (opts.searchInput) { opts.searchInput.focus(); opts.searchInput.select && opts.searchInput.select(); }
        else handled = false;
        break;
      default:
        handled = false;
    }
    if (handled) e.preventDefault();
  }

  let searchTimer = 0;
  function onSearchInput() {
    if (searchTimer) win.clearTimeout(searchTimer);
    searchTimer = win.setTimeout(() => { searchTimer = 0; api.search(opts.searchInput.value); }, 80);
  }
  function onSearchKey(e) {
    if (e.key === 'Escape') {
      opts.searchInput.value = '';
      api.search('');
      canvas.focus();
      e.preventDefault();
    } else if (e.key === 'Enter') {
      api.search(opts.searchInput.value);
    }
  }

  const keyTarget = opts.keyboardTarget || canvas;
  canvas.addEventListener('mousemove', onMouseMove);
  canvas.addEventListener('mouseleave', onMouseLeave);
  canvas.addEventListener('click', onClick);
  keyTarget.addEventListener('keydown', onKeyDown);
  scroller.addEventListener('scroll', scheduleDraw, { passive: true });
  if (opts.history) win.addEventListener('popstate', onPopState);
  if (opts.searchInput) {
    opts.searchInput.addEventListener('input', onSearchInput);
    opts.searchInput.addEventListener('keydown', onSearchKey);
  }
  let ro = null;
  if (win.ResizeObserver) {
    // redraw synchronously when the size really changed (no rAF delay, no loop)
    ro = new win.ResizeObserver(() => {
      if (!tree) return;
      if (scroller.clientWidth !== geom.width || scroller.clientHeight !== geom.viewH) drawNow();
    });
    ro.observe(scroller);
  }
  win.addEventListener('resize', scheduleDraw);

  function installTree(t) {
    const oldPath = zoom && tree ? pathOf(zoom) : null;
    tree = t;
    colorCache.clear();
    layKey = '';
    lay = null;
    hover = null;
    selected = null;
    tip.style.display = 'none';
    let z = null;
    if (firstData && opts.history && win.history && win.history.state && win.history.state[opts.historyKey]) {
      z = findNode(tree, win.history.state[opts.historyKey]);
    } else if (oldPath) {
      z = findNode(tree, oldPath);
    }
    firstData = false;
    zoom = z || tree.root;
    if (searchText) {
      searchRes = searchTree(tree, searchText, { ignoreCase: opts.ignoreCase });
    } else searchRes = null;
    renderCrumbs();
    if (orientation === 'flame') scroller.scrollTop = 1e9;
    drawNow();
    if (orientation === 'flame') { scroller.scrollTop = scroller.scrollHeight; drawNow(); }
    return api;
  }

  // ---- public API ----------------------------------------------------------
  const api = {
    /** Show a profile for a sample type (default: data.default_sample_type). Keeps zoom path and search if possible. */
    setData(data, sampleTypeIndex) {
      const t0 = performance.now();
      const t = buildTree(data, sampleTypeIndex);
      timings.build = performance.now() - t0;
      return installTree(t);
    },
    /** Differential view: tree of `after`, coloured by change in share vs `before`. */
    setDiff(before, after, sampleTypeIndex) {
      const t0 = performance.now();
      const t = buildDiff(before, after, sampleTypeIndex);
      timings.build = performance.now() - t0;
      return installTree(t);
    },
    /** Show any tree from flame-model (e.g. sandwich(...).callers / .callees). */
    setTree(t) { timings.build = 0; return installTree(t); },
    /** Regexp search; '' clears.  Returns {share, total, count, error}. */
    search(pattern) {
      searchText = pattern == null ? '' : String(pattern);
      searchRes = tree && searchText ? searchTree(tree, searchText, { ignoreCase: opts.ignoreCase }) : null;
      const err = searchRes && searchRes.error;
      if (err) canvas.dataset.searchError = err; else delete canvas.dataset.searchError;
      if (opts.searchInput) {
        opts.searchInput.setAttribute('aria-invalid', err ? 'true' : 'false');
        opts.searchInput.classList.toggle('flame-search-invalid', !!err);
      }
      drawNow();
      return {
        share: searchRes && searchRes.regex ? searchRes.share : 0,
        total: searchRes ? searchRes.total : 0,
        count: searchRes ? searchRes.nodes.length : 0,
        error: err || null,
      };
    },
    /** Zoom to a node by path of names (array or "a;b;c"), or a node object. Returns false if not found. */
    zoomTo(path, { push = true } = {}) {
      if (!tree) return false;
      const n = path && typeof path === 'object' && !Array.isArray(path) ? path : findNode(tree, path);
      if (!n) return false;
      setZoom(n, push);
      return true;
    },
    /** Zoom back to the root. */
    reset({ push = true } = {}) {
      if (!tree) return;
      selected = null;
      setZoom(tree.root, push);
    },
    setOrientation(o) {
      orientation = o === 'flame' ? 'flame' : 'icicle';
      drawNow();
      if (orientation === 'flame') { scroller.scrollTop = scroller.scrollHeight; drawNow(); } else { scroller.scrollTop = 0; drawNow(); }
    },
    get orientation() { return orientation; },
    /** Select a node (path or node) without zooming. */
    select(path) {
      if (!tree) return false;
      const n = path && typeof path === 'object' && !Array.isArray(path) ? path : findNode(tree, path);
      if (!n) return false;
      select(n, false);
      return true;
    },
    /** Frames drawn by the last draw: {name, x, y, w, h, total, self, matched, depth, merged[, delta]} in CSS px. */
    drawnFrames() { return drawn.map((r) => ({ ...r })); },
    redraw() { drawNow(); },
    get tree() { return tree; },
    get zoomNode() { return zoom; },
    get zoomPath() { return zoom ? pathOf(zoom) : []; },
    get selected() { return selected; },
    get canvas() { return canvas; },
    get timings() { return { ...timings }; },
    /** Folded-stack text of the current tree (or of the zoomed subtree with {zoomed: true}). */
    folded({ zoomed = false } = {}) { return tree ? toFolded(tree, zoomed ? zoom : tree.root) : ''; },
    destroy() {
      destroyed = true;
      if (rafId) win.cancelAnimationFrame(rafId);
      if (searchTimer) win.clearTimeout(searchTimer);
      canvas.removeEventListener('mousemove', onMouseMove);
      canvas.removeEventListener('mouseleave', onMouseLeave);
      canvas.removeEventListener('click', onClick);
      keyTarget.removeEventListener('keydown', onKeyDown);
      scroller.removeEventListener('scroll', scheduleDraw);
      win.removeEventListener('popstate', onPopState);
      win.removeEventListener('resize', scheduleDraw);
      if (opts.searchInput) {
        opts.searchInput.removeEventListener('input', onSearchInput);
        opts.searchInput.removeEventListener('keydown', onSearchKey);
      }
      if (ro) ro.disconnect();
      rootEl.remove();
      tree = null;
      drawn = [];
    },
  };
  return api;
}
