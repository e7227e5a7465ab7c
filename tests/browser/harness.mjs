// harness.mjs — what the browser tests share: headless Chromium through
// playwright-core with a fresh profile, a TAP-like runner ("ok N - name" /
// "not ok N - name" and a final "N passed, N failed"), screenshots of each
// step, and the console errors of the page.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHOTS = process.env.LYNXPROF_SCREENSHOTS || path.join(here, 'screenshots');

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
];

/**
 * A persistent context on a fresh user-data-dir (removed by close()).
 * options: httpCredentials, viewport, colorScheme, acceptDownloads...
 */
export async function launch(options = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lynxprof-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
    // A test's own certificate authority (test_fleet.sh's front over TLS).
    ignoreHTTPSErrors: process.env.LYNXPROF_IGNORE_HTTPS_ERRORS === '1',
    ...options,
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(8000);
  const log = { console: [], pageErrors: [], failed: [] };
  page.on('console', (m) => { if (m.type() === 'error') log.console.push(m.text()); });
  page.on('pageerror', (e) => log.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on('response', (r) => { if (r.status() >= 400) log.failed.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  return {
    context, page, log,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function createRunner(suite) {
  fs.mkdirSync(SHOTS, { recursive: true });
  let n = 0;
  let pass = 0;
  let fail = 0;
  const failed = [];
  return {
    /** Run one check; a thrown error (assert, timeout) is a failure, with its message. */
    async check(name, fn) {
      n++;
      const t0 = Date.now();
      try {
        await fn();
        pass++;
        console.log(`ok ${n} - ${suite}: ${name} (${Date.now() - t0} ms)`);
        return true;
      } catch (e) {
        fail++;
        failed.push(name);
        console.log(`not ok ${n} - ${suite}: ${name}`);
        for (const line of String(e && e.message ? e.message : e).split('\n').slice(0, 8)) console.log(`#   ${line}`);
        return false;
      }
    },
    skip(name, why) {
      n++;
      fail++;
      failed.push(name);
      console.log(`not ok ${n} - ${suite}: ${name}`);
      console.log(`#   not run: ${why}`);
    },
    async shot(page, name, options = {}) {
      const file = path.join(SHOTS, `${suite}-${name}.png`);
      await page.screenshot({ path: file, ...options }).catch((e) => console.log(`#   screenshot ${name}: ${e.message}`));
      return file;
    },
    summary() {
      console.log(`${pass} passed, ${fail} failed`);
      return fail === 0;
    },
  };
}

export function assert(cond, message) {
  if (!cond) throw new Error(message || 'assertion failed');
}

/** Poll fn (in node) until it returns a truthy value or the time is up. */
export async function until(fn, { timeout = 10000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
