// flame_browser.mjs — time the flame graph in headless Chromium on a profile
// of N distinct stacks (default 10,000): building the tree, the first draw,
// a zoom, a search, a redraw, and the same for a diff view.  Uses
// tests/js/flame-demo.html (which measures inside the page) served by a
// small static server over the repository; prints a table of medians.
//
//   node bench/flame_browser.mjs [--stacks N] [--runs R]
// (bench/flame_browser.sh installs playwright-core first when missing.)

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'tests/browser/package.json'));
const { chromium } = require('playwright-core');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const STACKS = arg('--stacks', 10000);
const RUNS = arg('--runs', 5);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css' };

const server = http.createServer((req, res) => {
  const p = path.resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!p.startsWith(root + path.sep) || !fs.existsSync(p) || fs.statSync(p).isDirectory()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(p)] || 'application/octet-stream' });
  fs.createReadStream(p).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/tests/js/flame-demo.html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
});
const results = { normal: [], diff: [] };
try {
  for (const mode of ['normal', 'diff']) {
    for (let i = 0; i < RUNS; i++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const q = `?stacks=${STACKS}&seed=${2024 + i}${mode === 'diff' ? '&diff=1' : ''}`;
      await page.goto(base + q);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
      results[mode].push(await page.evaluate(() => window.flameTimings));
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}

const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rows = [
  ['build tree (model only)', 'build'],
  ['setData: build + layout + first draw', 'setData'],
  ['  of which layout + draw', 'firstDraw'],
  ['zoom two levels down', 'zoom'],
  ['search /hash/ + redraw', 'search'],
  ['redraw', 'redraw'],
];
const r0 = results.normal[0];
console.log(`flame graph in headless Chromium: ${STACKS} distinct stacks, ${r0.nodes} tree nodes, ` +
  `${r0.framesDrawn} frames drawn at 1400 px, ${RUNS} runs (median, min-max, ms)`);
console.log(`${r0.userAgent.replace(/.*(Chrome\/[\d.]+).*/, '$1')}, devicePixelRatio ${r0.devicePixelRatio}`);
console.log('| step | profile | diff view |');
console.log('|---|---:|---:|');
for (const [label, key] of rows) {
  const cell = (mode) => {
    const xs = results[mode].map((t) => t[key]).filter((x) => typeof x === 'number');
    if (!xs.length) return '–';
    return `${med(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  };
  console.log(`| ${label} | ${cell('normal')} | ${cell('diff')} |`);
}
