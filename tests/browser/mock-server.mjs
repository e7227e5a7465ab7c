// mock-server.mjs — a scripted stand-in for the lynxprof API, for working on
// the /profiling page without the C stack, and for page tests of paths the
// real stack cannot produce on demand (a server that fails, a busy one).
//
//   node tests/browser/mock-server.mjs [port]     (default 19090)
//
// Serves html/ at /profiling/ and implements the contract of docs/API.md
// with made-up but plausible data (the demo's function names).  In-memory
// state; CPU sessions really run for their duration.  Also importable:
// startMockServer({port}) -> {url, close(), state}.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const HTML = path.resolve(here, '../../html');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
const MAX_NS = 5 * 60e9;

function goDuration(ns) {
  if (ns < 1e9) return `${ns / 1e6}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  return h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`;
}

function parseGo(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s || '');
  if (!m) {
    const two = /^(\d+)m(\d+(?:\.\d+)?)s$/.exec(s || '');
    return two ? (Number(two[1]) * 60 + Number(two[2])) * 1e9 : NaN;
  }
  return Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2]];
}

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUNCS = ['main', 'start_thread', 'demo_worker', 'demo_process_batch', 'demo_generate_line',
  'demo_parse_line', 'json_tokener_parse_ex', 'demo_aggregate', 'demo_hash_path', 'pthread_mutex_lock',
  '__lll_lock_wait', 'snprintf', 'malloc', 'free', 'demo_top_paths_update', 'json_object_put', 'clone3'];
const F = Object.fromEntries(FUNCS.map((n, i) => [n, i]));

function flameProfile(seed, type = 'cpu') {
  const r = rng(seed);
  const base = [F.clone3, F.start_thread, F.demo_worker, F.demo_process_batch];
  const shapes = [
    [[...base, F.demo_aggregate, F.demo_hash_path], 40],
    [[...base, F.demo_parse_line, F.json_tokener_parse_ex], 25],
    [[...base, F.demo_parse_line, F.json_tokener_parse_ex, F.malloc], 6],
    [[...base, F.demo_generate_line, F.snprintf], 12],
    [[...base, F.demo_aggregate, F.pthread_mutex_lock, F.__lll_lock_wait], 8],
    [[...base, F.demo_aggregate, F.demo_top_paths_update], 4],
    [[...base, F.demo_parse_line, F.json_object_put, F.free], 3],
    [[...base], 2],
  ];
  const stacks = shapes.map(([frames, w]) => {
    const n = Math.max(1, Math.round(w * (0.6 + r() * 0.8) * 10));
    return [frames, [n, n * 10_000_000]];
  });
  if (type === 'heap') {
    return {
      type, sample_types: [{ type: 'alloc_objects', unit: 'count' }, { type: 'alloc_space', unit: 'bytes' },
        { type: 'inuse_objects', unit: 'count' }, { type: 'inuse_space', unit: 'bytes' }],
      default_sample_type: 3, functions: FUNCS,
      stacks: stacks.map(([f, [n]]) => [[...f, F.malloc], [n, n * 512, Math.round(n / 3), n * 170]]),
    };
  }
  if (type === 'goroutine' || type === 'threadcreate') {
    return { type, sample_types: [{ type: 'thread', unit: 'count' }], default_sample_type: 0, functions: FUNCS,
      stacks: [[[F.clone3, F.start_thread, F.demo_worker], [2]], [[F.main], [1]]] };
  }
  if (type === 'block' || type === 'mutex') {
    return { type, sample_types: [{ type: 'contentions', unit: 'count' }, { type: 'delay', unit: 'nanoseconds' }],
      default_sample_type: 1, functions: FUNCS,
      stacks: [[[...base, F.demo_aggregate, F.pthread_mutex_lock], [120, 3_400_000]]] };
  }
  return { type: 'cpu', sample_types: [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }],
    default_sample_type: 1, functions: FUNCS, stacks };
}

export function startMockServer({ port = 19090, user = '', password = '', prefix = '' } = {}) {
  // extra: raw records appended to the sessions list (e.g. malformed ones)
  const state = { sessions: new Map(), seq: 0, mem: { rss: 40e6, heap: 12e6, arena: 20e6, cpu: 0 }, failMemory: false, extra: [] };
  const started = new Date(Date.now() - 3723e3).toISOString();

  function status(s) {
    const now = Date.now();
    const el = Math.min(now - s.t0, s.durNs / 1e6);
    if (s.state === 'running' && now - s.t0 >= s.durNs / 1e6) s.state = 'completed';
    const running = s.state === 'running';
    const elapsed = running ? now - s.t0 : s.endMs - s.t0 || el;
    if (!running && !s.endMs) s.endMs = s.t0 + el;
    const samples = Math.round((running ? now - s.t0 : s.endMs - s.t0) / 1000 * s.hz * 1.9);
    const o = {
      session_id: s.id, type: 'cpu', target: 'lynx-demo', pid: 4242, duration: goDuration(s.durNs), hz: s.hz,
      started_at: new Date(s.t0).toISOString(), done: !running, status: s.state,
      elapsed: goDuration(Math.round(Math.min(elapsed, s.durNs / 1e6)) * 1e6),
      remaining: goDuration(Math.max(0, Math.round(s.durNs / 1e6 - elapsed)) * 1e6),
      progress: Math.min(1, elapsed / (s.durNs / 1e6)), samples, lost_samples: 0,
    };
    if (!running) { o.ended_at = new Date(s.endMs).toISOString(); o.data_size = 1000 + samples * 3; }
    return o;
  }

  function send(res, code, body, headers = {}) {
    const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
    res.end(data);
  }

  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (prefix && !u.pathname.startsWith(prefix + '/')) { send(res, 404, { error: 'outside the prefix' }); return; }
    const p = u.pathname.slice(prefix.length);
    if (user) {
      const want = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
      if (req.headers.authorization !== want) {
        send(res, 401, { error: 'authentication required' }, { 'WWW-Authenticate': 'Basic realm="lynxprof"' });
        return;
      }
    }
    if (p === '/profiling') { res.writeHead(301, { Location: 'profiling/' }); res.end(); return; }
    if (p.startsWith('/profiling/')) {
      const rel = p.slice('/profiling/'.length) || 'index.html';
      const file = path.resolve(HTML, rel);
      if (!file.startsWith(HTML + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
        send(res, 404, { error: 'no such page' });
        return;
      }
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
      fs.createReadStream(file).pipe(res);
      return;
    }
    const A = '/api/v1/profiling/';
    const q = u.searchParams;
    let m;
    if (p === A + 'targets') {
      send(res, 200, { targets: [{ name: 'lynx-demo', pid: 4242, alive: true, status: 'running', started_at: started, exe: '/usr/local/libexec/lynxprof/lynx-demo' }],
        default_target: null, max_profile_duration: goDuration(MAX_NS) });
    } else if (p === A + 'memory') {
      if (state.failMemory) { send(res, 503, { error: 'agent not responding' }); return; }
      const mm = state.mem;
      mm.rss += (Math.random() - 0.45) * 2e5; mm.heap += (Math.random() - 0.45) * 1e5; mm.cpu += 0.9;
      send(res, 200, {
        target: { name: 'lynx-demo', pid: 4242, started_at: started, uptime_seconds: 3723 }, sampled_at: new Date().toISOString(),
        heap: { in_use_bytes: Math.round(mm.heap), free_bytes: 1e6, arena_bytes: Math.round(mm.arena), mmap_bytes: 2e6, mmap_chunks: 2, free_chunks: 30, releasable_bytes: 1e5 },
        process: { resident_bytes: Math.round(mm.rss), resident_peak_bytes: 5e7, resident_anon_bytes: 3e7, resident_file_bytes: 1e7, virtual_bytes: 3e8,
          virtual_peak_bytes: 3.1e8, data_bytes: 6e7, stack_bytes: 135168, swap_bytes: 0, threads: 5, open_fds: 9,
          cpu_user_seconds: mm.cpu, cpu_system_seconds: mm.cpu / 10, minor_faults: 1000, major_faults: 0 },
        allocations: null,
      });
    } else if (p === A + 'cpu/start') {
      const d = q.get('duration') || '30s';
      const ns = parseGo(d);
      const hz = Number(q.get('hz') || 100);
      if (!(ns > 0)) { send(res, 400, { error: `Invalid duration: ${d}` }); return; }
      if (ns > MAX_NS) { send(res, 400, { error: `Maximum profiling duration is ${goDuration(MAX_NS)}` }); return; }
      if (!(hz >= 1 && hz <= 1000)) { send(res, 400, { error: 'hz must be 1..1000' }); return; }
      for (const s of state.sessions.values()) {
        if (status(s).status === 'running') { send(res, 409, { error: 'a CPU profile is already running', session_id: s.id }); return; }
      }
      const id = `cpu_${Date.now()}${String(state.seq++).padStart(6, '0')}`;
      const s = { id, t0: Date.now(), durNs: ns, hz, state: 'running', seed: state.seq };
      state.sessions.set(id, s);
      send(res, 200, { session_id: id, type: 'cpu', target: 'lynx-demo', duration: goDuration(ns), hz, started_at: new Date(s.t0).toISOString(), status: 'started' });
    } else if ((m = /^cpu\/status\/(.+)$/.exec(p.slice(A.length)))) {
      const s = state.sessions.get(m[1]);
      if (!s) { send(res, 404, { error: 'Profile session not found' }); return; }
      send(res, 200, status(s));
    } else if (p === A + 'cpu/sessions') {
      send(res, 200, { sessions: [...[...state.sessions.values()].reverse().map(status), ...state.extra] });
    } else if ((m = /^cpu\/stop\/(.+)$/.exec(p.slice(A.length)))) {
      const s = state.sessions.get(m[1]);
      if (!s) { send(res, 404, { error: 'Profile session not found' }); return; }
      if (status(s).status !== 'running') { send(res, 409, { error: 'Profile session is not running' }); return; }
      s.state = 'cancelled'; s.endMs = Date.now();
      send(res, 200, status(s));
    } else if ((m = /^cpu\/(?:sessions|delete)\/(.+)$/.exec(p.slice(A.length)))) {
      const s = state.sessions.get(m[1]);
      if (!s) { send(res, 404, { error: 'Profile session not found' }); return; }
      if (status(s).status === 'running') { send(res, 409, { error: 'Profile session is still running' }); return; }
      state.sessions.delete(m[1]);
      send(res, 200, { session_id: m[1], deleted: true });
    } else if ((m = /^cpu\/download\/(.+)$/.exec(p.slice(A.length)))) {
      const s = state.sessions.get(m[1]);
      if (!s) { send(res, 404, { error: 'Profile session not found' }); return; }
      send(res, 200, zlib.gzipSync(Buffer.from('not really a profile')), {
        'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename=${s.id}.pprof` });
    } else if ((m = /^cpu\/flame\/(.+)$/.exec(p.slice(A.length)))) {
      const s = state.sessions.get(m[1]);
      if (!s) { send(res, 404, { error: 'Profile session not found' }); return; }
      if (status(s).status === 'running') { send(res, 409, { error: 'Profile session not completed yet' }); return; }
      send(res, 200, flameProfile(s.seed));
    } else if (p === A + 'flame') {
      const type = q.get('type');
      if (!['heap', 'allocs', 'goroutine', 'block', 'mutex', 'threadcreate'].includes(type)) { send(res, 400, { error: `unknown profile type '${type}'` }); return; }
      send(res, 200, flameProfile(7, type === 'allocs' ? 'heap' : type));
    } else if (p === A + 'heap' || p === A + 'goroutine' || /^\/debug\/pprof\/(block|mutex|threadcreate)$/.test(p)) {
      const kind = p.split('/').pop();
      send(res, 200, zlib.gzipSync(Buffer.from('x')), { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename=${kind}_20240101_000000.pprof` });
    } else {
      send(res, 404, { error: 'unknown endpoint' });
    }
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}${prefix}`,
      state,
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
    }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] || 19090);
  startMockServer({ port }).then((s) => console.log(`mock lynxprof API on ${s.url}/profiling/`));
}
