// Unit tests for the pure modules of the /profiling page: format.js (Go
// durations, sizes), ring.js (the memory chart's ring buffer, against a
// plain array), sessions-model.js (table rows, compare picking) and
// chart.js's niceStep.  Run: node --test tests/js/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  parseDuration, formatDuration, toSeconds, formatBytes, formatChange, formatCount,
  formatSecondsShort, formatUptime, formatClock, dispositionFilename,
} from '../../html/js/format.js';
import { TimeRing } from '../../html/js/ring.js';
import { sessionRows, sessionState, hasProfile, runningSession, ComparePick } from '../../html/js/sessions-model.js';
import { niceStep } from '../../html/js/chart.js';
import { mulberry32 } from './gen-profile.mjs';

describe('Go durations', () => {
  test('parse', () => {
    const cases = {
      '30s': 30e9, '1m30s': 90e9, '5m0s': 300e9, '300ms': 300e6, '1.5h': 5400e9, '2h45m': 9900e9,
      '10us': 10e3, '10µs': 10e3, '7ns': 7, '0': 0, '-1s': -1e9, '+2s': 2e9, '.5s': 0.5e9, '1.s': 1e9, '1h0m0s': 3600e9,
    };
    for (const [s, ns] of Object.entries(cases)) assert.equal(parseDuration(s).ns, ns, s);
    for (const s of ['', ' ', '30', 's', '1x', '1m 30s', '--1s', '1.2.3s', 'abc', '5mins']) {
      assert.match(parseDuration(s).error, /^Invalid duration/, JSON.stringify(s));
    }
  });

  test('format like Go', () => {
    const cases = [[0, '0s'], [1, '1ns'], [999, '999ns'], [1500, '1.5µs'], [1e6, '1ms'], [300e6, '300ms'],
      [1e9, '1s'], [1.5e9, '1.5s'], [30e9, '30s'], [60e9, '1m0s'], [90e9, '1m30s'], [300e9, '5m0s'],
      [3600e9, '1h0m0s'], [3723.5e9, '1h2m3.5s'], [-30e9, '-30s']];
    for (const [ns, s] of cases) assert.equal(formatDuration(ns), s, String(ns));
  });

  test('format then parse is the identity (random)', () => {
    const r = mulberry32(5);
    for (let i = 0; i < 2000; i++) {
      const ns = Math.round(r() * 10 ** Math.floor(r() * 13));
      assert.equal(parseDuration(formatDuration(ns)).ns, ns, String(ns));
    }
  });

  test('toSeconds takes numbers and Go strings', () => {
    assert.equal(toSeconds(2.5), 2.5);
    assert.equal(toSeconds('1m30s'), 90);
    assert.ok(Number.isNaN(toSeconds('x')));
    assert.ok(Number.isNaN(toSeconds(null)));
  });
});

describe('sizes and counts', () => {
  test('formatBytes', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.00 KiB');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(15 * 2 ** 20), '15.0 MiB');
    assert.equal(formatBytes(150 * 2 ** 20), '150 MiB');
    assert.equal(formatBytes(3 * 2 ** 30), '3.00 GiB');
    assert.equal(formatBytes(-2048), '-2.00 KiB');
    assert.equal(formatBytes(null), 'n/a');
    assert.equal(formatBytes(NaN), 'n/a');
  });
  test('formatChange', () => {
    assert.equal(formatChange(0), '±0');
    assert.equal(formatChange(2048), '+2.00 KiB');
    assert.equal(formatChange(-5, 'count'), '-5');
    assert.equal(formatChange(1234, 'count'), '+1,234');
    assert.equal(formatChange(NaN), '');
  });
  test('counts, seconds, uptime', () => {
    assert.equal(formatCount(1234567), '1,234,567');
    assert.equal(formatCount(undefined), 'n/a');
    assert.equal(formatSecondsShort(1.25), '1.3 s');
    assert.equal(formatSecondsShort(125), '2 m 05 s');
    assert.equal(formatSecondsShort(3725), '1 h 02 m');
    assert.equal(formatSecondsShort(-1), '0.0 s');
    assert.equal(formatUptime(42), '42s');
    assert.equal(formatUptime(312), '5m 12s');
    assert.equal(formatUptime(7500), '2h 05m');
    assert.equal(formatUptime(3 * 86400 + 4 * 3600 + 5), '3d 4h');
    assert.equal(formatUptime(NaN), '–');
  });
  test('formatClock: time today, date otherwise', () => {
    const now = new Date(2024, 10, 28, 15, 0, 0);
    assert.equal(formatClock(new Date(2024, 10, 28, 14, 3, 22).toISOString(), now), '14:03:22');
    assert.equal(formatClock(new Date(2024, 10, 27, 9, 5, 0).toISOString(), now), '2024-11-27 09:05');
    assert.equal(formatClock('nonsense', now), '');
  });
  test('dispositionFilename', () => {
    assert.equal(dispositionFilename('attachment; filename=cpu_20241128_140322.pprof'), 'cpu_20241128_140322.pprof');
    assert.equal(dispositionFilename('attachment; filename="heap x.pprof"'), 'heap x.pprof');
    assert.equal(dispositionFilename("attachment; filename*=UTF-8''a%20b.pprof"), 'a b.pprof');
    assert.equal(dispositionFilename('attachment; filename="../../etc/passwd"'), '.._.._etc_passwd');
    assert.equal(dispositionFilename('attachment'), null);
    assert.equal(dispositionFilename(null), null);
  });
});

describe('TimeRing against a plain array', () => {
  test('random pushes, clears and queries', () => {
    const r = mulberry32(77);
    for (const cap of [1, 2, 5, 64]) {
      const ring = new TimeRing(cap, 3);
      let ref = [];
      let t = 1000;
      for (let i = 0; i < 600; i++) {
        if (r() < 0.01) { ring.clear(); ref = []; }
        t += Math.floor(r() * 1500);
        const v = [r() * 100, r() < 0.2 ? NaN : r() * 10, Math.floor(r() * 5)];
        ring.push(t, v);
        ref.push({ time: t, values: v });
        if (ref.length > cap) ref.shift();
        assert.equal(ring.length, ref.length);
        assert.deepEqual(ring.toArray(), ref);
        assert.deepEqual(ring.last(), ref[ref.length - 1]);
        const since = t - Math.floor(r() * 5000);
        for (let k = 0; k < 3; k++) {
          const vals = ref.filter((s) => s.time >= since).map((s) => s.values[k]).filter((x) => !Number.isNaN(x));
          const want = vals.length ? { min: Math.min(...vals), max: Math.max(...vals) } : null;
          assert.deepEqual(ring.range(k, since), want);
          // change: newest minus the oldest non-NaN value within the window
          const ms = Math.floor(r() * 6000);
          const lastV = ref[ref.length - 1].values[k];
          let wantC = null;
          if (ref.length >= 2 && !Number.isNaN(lastV)) {
            const first = ref.slice(0, -1).find((s) => s.time >= t - ms && !Number.isNaN(s.values[k]));
            if (first) wantC = { delta: lastV - first.values[k], span: t - first.time };
          }
          assert.deepEqual(ring.change(k, ms), wantC);
        }
        const q = t - Math.floor(r() * 8000);
        const idx = ref.findIndex((s) => s.time >= q);
        assert.equal(ring.indexAtOrAfter(q), idx < 0 ? ref.length : idx);
      }
    }
  });
  test('short value arrays are padded with NaN; bad sizes throw', () => {
    const ring = new TimeRing(3, 2);
    ring.push(1, [5]);
    assert.ok(Number.isNaN(ring.valueAt(0, 1)));
    assert.equal(ring.last().time, 1);
    assert.throws(() => new TimeRing(0, 1), RangeError);
  });
});

describe('sessions table model', () => {
  const base = { type: 'cpu', target: 'lynx-demo', duration: '30s', hz: 100 };
  const S = [
    { ...base, session_id: 'cpu_3', status: 'running', done: false, started_at: '2024-11-28T10:03:00Z', progress: 0.5, samples: 100 },
    { ...base, session_id: 'cpu_2', status: 'completed', done: true, started_at: '2024-11-28T10:02:00Z', samples: 2990, data_size: 40000 },
    { ...base, session_id: 'cpu_1', status: 'cancelled', done: true, started_at: '2024-11-28T10:01:00Z', samples: 0, data_size: 0 },
    { ...base, session_id: 'cpu_0', status: 'failed', done: true, started_at: '2024-11-28T10:00:00Z', error: 'target process exited (pid 7)' },
    { session_id: 'cpu_x', started_at: '2024-11-28T09:00:00Z', done: true }, // no type, no status
    { nonsense: true },
    null,
  ];

  test('states and actions', () => {
    const rows = sessionRows(S, new Date('2024-11-28T12:00:00Z'));
    assert.deepEqual(rows.map((r) => r.id), ['cpu_3', 'cpu_2', 'cpu_1', 'cpu_0', 'cpu_x']);
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    assert.equal(by.cpu_3.state, 'running');
    assert.deepEqual([by.cpu_3.canStop, by.cpu_3.canDelete, by.cpu_3.canFlame, by.cpu_3.progress], [true, false, false, 0.5]);
    assert.deepEqual([by.cpu_2.canFlame, by.cpu_2.canDownload, by.cpu_2.canCompare, by.cpu_2.canDelete], [true, true, true, true]);
    assert.equal(by.cpu_2.size, formatBytes(40000));
    assert.equal(by.cpu_2.samples, '2,990');
    assert.equal(by.cpu_1.canFlame, false, 'empty cancelled session has no graph');
    assert.equal(by.cpu_0.state, 'failed');
    assert.equal(by.cpu_0.error, 'target process exited (pid 7)');
    assert.equal(by.cpu_0.canFlame, false);
    assert.equal(by.cpu_x.type, 'cpu', 'a record without type is listed as cpu');
    assert.equal(by.cpu_x.state, 'completed');
    assert.equal(by.cpu_2.duration, '30s');
  });

  test('order: newest first whatever the server order', () => {
    const shuffled = [S[3], S[0], S[2], S[1]];
    assert.deepEqual(sessionRows(shuffled).map((r) => r.id), ['cpu_3', 'cpu_2', 'cpu_1', 'cpu_0']);
  });

  test('helpers', () => {
    assert.equal(sessionState({ done: false }), 'running');
    assert.equal(sessionState({ status: 'weird', done: true, error: 'x' }), 'failed');
    assert.equal(hasProfile({ status: 'completed' }), true);
    assert.equal(hasProfile({ status: 'completed', samples: 0 }), false);
    assert.equal(runningSession(S).session_id, 'cpu_3');
    assert.equal(runningSession(S.slice(1)), null);
    assert.deepEqual(sessionRows(undefined), []);
  });

  test('compare picking: two at most, the oldest pick dropped, pair in time order', () => {
    const rows = sessionRows(S);
    const p = new ComparePick();
    p.toggle('cpu_2');
    assert.equal(p.pair(rows), null);
    p.toggle('cpu_x');
    assert.deepEqual(p.pair(rows).before.id, 'cpu_x');
    assert.deepEqual(p.pair(rows).after.id, 'cpu_2');
    p.toggle('cpu_0'); // not comparable, but picking is the table's business; prune drops it
    assert.deepEqual(p.ids, ['cpu_x', 'cpu_0']);
    p.prune(rows);
    assert.deepEqual(p.ids, ['cpu_x']);
    p.toggle('cpu_x');
    assert.deepEqual(p.ids, []);
    p.toggle('cpu_2', true);
    p.toggle('cpu_2', true);
    assert.deepEqual(p.ids, ['cpu_2']);
  });
});

test('niceStep: round steps covering the span in about n lines', () => {
  const r = mulberry32(9);
  for (let i = 0; i < 500; i++) {
    const span = r() * 10 ** (1 + r() * 10);
    const s = niceStep(span, 4);
    assert.ok(s >= span / 4 && s <= span / 4 * 2.5 + 1e-9, `span ${span} step ${s}`);
  }
  assert.equal(niceStep(0), 1);
});
