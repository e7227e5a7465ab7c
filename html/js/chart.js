// chart.js — a small canvas line chart of a TimeRing (DOM part).
//
//   const chart = createChart(canvas, ring, {series: [{key: 0, label, color: '--chart-1'}], windowMs});
//   chart.draw();              // after ring.push(...), on resize, on theme change
//
// One canvas sized to its CSS box (devicePixelRatio aware).  The y axis is
// bytes, scaled to the visible data with round grid steps; the x axis is the
// last `windowMs` ending at the newest sample.  Colours come from CSS custom
// properties on the canvas (--chart-grid, --chart-text, and each series'
// variable).  canvas.dataset.points = samples in the ring (a test hook).

import { formatBytes, formatClock } from './format.js';

const NICE = [1, 2, 2.5, 5, 10];

/** Round grid step for a value span, about `ticks` lines. */
export function niceStep(span, ticks = 4) {
  if (!(span > 0)) return 1;
  const raw = span / ticks;
  // binary-friendly steps for bytes: powers of 2 times 1, 2, 2.5, 5
  const p = 2 ** Math.floor(Math.log2(raw));
  let best = p;
  for (const m of NICE) {
    if (p * m >= raw) { best = p * m; break; }
  }
  return best;
}

export function createChart(canvas, ring, options) {
  const opts = { windowMs: 5 * 60 * 1000, series: [], ...options };
  const ctx = canvas.getContext('2d');
  const win = canvas.ownerDocument.defaultView;
  let hoverX = null;

  function color(cs, v, dflt) {
    const s = cs.getPropertyValue(v).trim();
    return s || dflt;
  }

  function draw() {
    const dpr = win.devicePixelRatio || 1;
    const W = Math.max(50, canvas.clientWidth);
    const H = Math.max(40, canvas.clientHeight);
    if (canvas.width !== Math.round(W * dpr)) canvas.width = Math.round(W * dpr);
    if (canvas.height !== Math.round(H * dpr)) canvas.height = Math.round(H * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const cs = win.getComputedStyle(canvas);
    const grid = color(cs, '--chart-grid', 'rgba(128,128,128,0.25)');
    const text = color(cs, '--chart-text', '#666');
    const font = `11px ${color(cs, '--chart-font', 'system-ui, sans-serif')}`;
    ctx.font = font;
    canvas.dataset.points = String(ring.length);
    const padL = 64;
    const padR = 8;
    const padT = 8;
    const padB = 18;
    const pw = W - padL - padR;
    const ph = H - padT - padB;
    const last = ring.length ? ring.timeAt(ring.length - 1) : Date.now();
    const t0 = last - opts.windowMs;
    // y range over the visible window of every series
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of opts.series) {
      const r = ring.range(s.key, t0);
      if (r) { lo = Math.min(lo, r.min); hi = Math.max(hi, r.max); }
    }
    if (lo === Infinity) { lo = 0; hi = 1; }
    // include zero when it is close, so small changes do not look dramatic
    if (lo > 0 && lo < hi * 0.5) lo = 0;
    if (hi === lo) { hi = lo + Math.max(1, Math.abs(lo) * 0.1); lo = Math.max(0, lo - (hi - lo)); }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    const y = (v) => padT + ph - ((v - lo) / (hi - lo)) * ph;
    const x = (t) => padL + ((t - t0) / opts.windowMs) * pw;

    // grid and labels
    ctx.strokeStyle = grid;
    ctx.fillStyle = text;
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let v = lo; v <= hi + step / 2; v += step) {
      const yy = Math.round(y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(padL, yy);
      ctx.lineTo(W - padR, yy);
      ctx.stroke();
      ctx.fillText(formatBytes(v), padL - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const minutes = opts.windowMs / 60000;
    for (let m = 0; m <= minutes; m++) {
      const xx = Math.round(x(t0 + m * 60000)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, padT);
      ctx.lineTo(xx, padT + ph);
      ctx.stroke();
      const label = m === minutes ? 'now' : `-${minutes - m}m`;
      ctx.fillText(label, Math.min(Math.max(xx, padL + 12), W - padR - 12), padT + ph + 3);
    }

    // series
    ctx.lineWidth = 1.75;
    ctx.lineJoin = 'round';
    const start = Math.max(0, ring.indexAtOrAfter(t0) - 1);
    for (const s of opts.series) {
      ctx.strokeStyle = color(cs, s.color, '#888');
      ctx.beginPath();
      let pen = false;
      for (let i = start; i < ring.length; i++) {
        const v = ring.valueAt(i, s.key);
        if (Number.isNaN(v)) { pen = false; continue; }
        const xx = Math.max(padL, x(ring.timeAt(i)));
        const yy = y(v);
        if (pen) ctx.lineTo(xx, yy); else ctx.moveTo(xx, yy);
        pen = true;
      }
      ctx.stroke();
      // a dot on the newest point
      if (ring.length) {
        const v = ring.valueAt(ring.length - 1, s.key);
        if (!Number.isNaN(v)) {
          ctx.fillStyle = ctx.strokeStyle;
          ctx.beginPath();
          ctx.arc(x(last), y(v), 2.5, 0, Math.PI * 2);
          ctx.fill();
        }
      }
    }

    // hover: vertical line and the values of the nearest sample
    if (hoverX !== null && ring.length) {
      const t = t0 + ((hoverX - padL) / pw) * opts.windowMs;
      let i = ring.indexAtOrAfter(t);
      if (i >= ring.length) i = ring.length - 1;
      if (i > 0 && Math.abs(ring.timeAt(i - 1) - t) < Math.abs(ring.timeAt(i) - t)) i--;
      const ti = ring.timeAt(i);
      if (ti >= t0) {
        const xx = Math.round(x(ti)) + 0.5;
        ctx.strokeStyle = text;
        ctx.beginPath();
        ctx.moveTo(xx, padT);
        ctx.lineTo(xx, padT + ph);
        ctx.stroke();
        const lines = [formatClock(new Date(ti).toISOString())];
        for (const s of opts.series) {
          const v = ring.valueAt(i, s.key);
          lines.push(`${s.label}: ${Number.isNaN(v) ? 'n/a' : formatBytes(v)}`);
        }
        const bw = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 12;
        const bh = lines.length * 15 + 6;
        const bx = xx + 8 + bw > W ? xx - 8 - bw : xx + 8;
        ctx.fillStyle = color(cs, '--chart-tip-bg', 'rgba(255,255,255,0.95)');
        ctx.fillRect(bx, padT + 4, bw, bh);
        ctx.strokeStyle = grid;
        ctx.strokeRect(bx + 0.5, padT + 4.5, bw - 1, bh - 1);
        ctx.textAlign = 'left';
        ctx.textBaseline = 'top';
        lines.forEach((l, k) => {
          ctx.fillStyle = k === 0 ? text : color(cs, opts.series[k - 1].color, text);
          ctx.fillText(l, bx + 6, padT + 8 + k * 15);
        });
      }
    }
  }

  canvas.addEventListener('mousemove', (e) => {
    const b = canvas.getBoundingClientRect();
    hoverX = e.clientX - b.left;
    draw();
  });
  canvas.addEventListener('mouseleave', () => { hoverX = null; draw(); });
  if (win.ResizeObserver) new win.ResizeObserver(() => draw()).observe(canvas);
  return { draw };
}
