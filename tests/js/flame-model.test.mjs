// Unit tests for html/js/flame-model.js against naive brute-force references.
// Run: node --test tests/js/
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';

import {
  buildTree, layout, zoomTo, findNode, pathOf, search, topTable, sandwich, buildDiff,
  toFolded, parseFolded, resolveSampleType, formatValue, formatShare, nodeInfo, compilePattern,
} from '../../html/js/flame-model.js';
import { randomProfile, mulberry32 } from './gen-profile.mjs';
import {
  validStacks, naiveTotals, naivePrefixes, idPath, namePath, startsWith,
} from './naive.mjs';

const SEEDS = [1, 2, 3, 42, 1234, 99991];

function prof(functions, stacks, extra = {}) {
  return {
    type: 'cpu',
    sample_types: [{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }],
    default_sample_type: 0,
    functions,
    stacks,
    ...extra,
  };
}

// Hand-made cases. Values: [samples, cpu].
const F = ['main', 'a', 'b', 'c', 'rec'];
const HAND = {
  recursion: prof(F, [
    [[0, 4, 4, 4], [3, 30]],
    [[0, 4, 4], [2, 20]],
    [[0, 4], [1, 10]],
    [[0, 4, 1, 4, 4], [5, 50]],
    [[0, 1, 4, 2, 4], [7, 70]],
  ]),
  shared: prof(F, [
    [[0, 1, 3], [4, 40]],
    [[0, 2, 3], [6, 60]],
    [[0, 3], [1, 10]],
    [[0, 1, 2, 3], [2, 20]],
    [[0, 1], [5, 0]],
  ]),
  empty: prof([], []),
  emptyObject: {},
  single: prof(['only'], [[[0], [7, 70]]]),
  zeros: prof(F, [
    [[0, 1], [0, 0]],
    [[0, 2], [3, 0]],
    [[0, 3], [0, 5]],
    [[0], [0, 0]],
  ]),
  allZero: prof(F, [[[0, 1], [0, 0]], [[0, 2], [0, 0]]]),
  rootSelfAndInvalid: prof(F, [
    [[], [4, 40]],
    [[0, 99], [2, 20]],
    [[0, -1, 1], [1, 10]],
    [[0, 1], [3, 30]],
    [[0, 1], [2, 20]], // duplicate stack: must merge
  ]),
};

function allCases() {
  const cases = [];
  for (const [name, data] of Object.entries(HAND)) for (const st of [0, 1]) cases.push({ name: `${name}/st${st}`, data, st });
  for (const seed of SEEDS) for (const st of [0, 1, 2]) {
    cases.push({ name: `random${seed}/st${st}`, data: randomProfile(seed, { stacks: 300, maxDepth: 30 }), st });
  }
  return cases;
}
const CASES = allCases();

function subtree(node) {
  const out = [];
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    out.push(n);
    for (const c of n.children) stack.push(c);
  }
  return out;
}

describe('buildTree', () => {
  test('node set, totals and self values equal brute force', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      const stacks = validStacks(data, st);
      const rootTotal = stacks.reduce((a, s) => a + s.v, 0);
      assert.equal(tree.total, rootTotal, name);
      assert.equal(tree.root.total, rootTotal, name);
      assert.equal(tree.root.self, stacks.filter((s) => s.ids.length === 0).reduce((a, s) => a + s.v, 0), name);
      const prefixes = naivePrefixes(stacks);
      const got = new Set();
      let maxDepth = 0;
      tree.nodes.forEach((n, i) => {
        assert.equal(n.id, i, name);
        if (!n.parent) { assert.equal(i, 0); return; }
        const p = idPath(n);
        const key = p.join('\u0000');
        assert.ok(!got.has(key), `${name}: duplicate node ${key}`);
        got.add(key);
        const ref = naiveTotals(stacks, p);
        assert.equal(n.total, ref.total, `${name} total ${namePath(n).join(';')}`);
        assert.equal(n.self, ref.self, `${name} self ${namePath(n).join(';')}`);
        assert.equal(n.depth, p.length, name);
        assert.ok(n.total > 0, name);
        maxDepth = Math.max(maxDepth, n.depth);
        // children sorted: total desc, then name
        const ch = n.children;
        for (let j = 1; j < ch.length; j++) {
          assert.ok(ch[j - 1].total > ch[j].total || (ch[j - 1].total === ch[j].total && ch[j - 1].name <= ch[j].name), name);
        }
        assert.equal(n.self, n.total - ch.reduce((a, c) => a + c.total, 0), name);
      });
      assert.deepEqual(got, prefixes, name);
      assert.equal(tree.maxDepth, maxDepth, name);
    }
  });

  test('hand-made details', () => {
    const r = buildTree(HAND.recursion, 0);
    assert.deepEqual(pathOf(r.nodes.find((n) => n.depth === 4 && n.name === 'rec' && n.parent.name === 'rec' && n.parent.parent.name === 'rec')), ['main', 'rec', 'rec', 'rec']);
    assert.equal(findNode(r, ['main', 'rec']).total, 11);
    assert.equal(findNode(r, 'main;rec;rec;rec').self, 3);
    const e = buildTree(HAND.empty);
    assert.equal(e.total, 0);
    assert.equal(e.nodes.length, 1);
    assert.equal(e.root.name, 'all');
    const eo = buildTree(HAND.emptyObject);
    assert.equal(eo.nodes.length, 1);
    assert.equal(buildTree(null).total, 0);
    const s = buildTree(HAND.single, 1);
    assert.equal(s.nodes.length, 2);
    assert.equal(s.root.children[0].name, 'only');
    assert.equal(s.root.children[0].self, 70);
    const z = buildTree(HAND.zeros, 0);
    assert.deepEqual(z.nodes.map((n) => n.name), ['all', 'main', 'b']);
    assert.equal(buildTree(HAND.allZero, 0).nodes.length, 1);
    const inv = buildTree(HAND.rootSelfAndInvalid, 0);
    assert.equal(inv.root.self, 4);
    assert.equal(findNode(inv, 'main;?').total, 3);
    assert.equal(findNode(inv, 'main;?;a').total, 1);
    assert.equal(findNode(inv, 'main;a').total, 5);
  });

  test('sample type resolution', () => {
    const d = randomProfile(7, { stacks: 20 });
    assert.equal(resolveSampleType(d), 1);
    assert.equal(resolveSampleType(d, 2), 2);
    assert.equal(resolveSampleType(d, 9), 1);
    assert.equal(buildTree(d).sampleType.unit, 'nanoseconds');
    assert.equal(buildTree(d, 2).sampleType.unit, 'bytes');
    assert.equal(buildTree({ functions: ['x'], stacks: [[[0], [5]]] }).total, 5);
  });
});

describe('layout', () => {
  function checkLayout(name, tree, zoom, minWidth) {
    const { frames, zoom: z, maxDepth } = layout(tree, zoom, { minWidth });
    assert.equal(z, zoom || tree.root);
    const Z = z.total;
    const byNode = new Map();
    for (const f of frames) {
      if (f.node) {
        assert.ok(!byNode.has(f.node), `${name}: node laid out twice`);
        byNode.set(f.node, f);
      }
      assert.ok(f.x >= 0 && f.w >= 0 && f.x + f.w <= 1, `${name}: frame outside 0..1`);
      assert.ok(f.depth <= maxDepth, name);
    }
    // ancestors and zoom root are full width
    const anc = zoomTo(tree, z).ancestors;
    for (const a of [...anc, z]) {
      const f = byNode.get(a);
      assert.ok(f, `${name}: ancestor missing`);
      assert.equal(f.x, 0);
      assert.equal(f.w, 1);
      assert.equal(f.depth, a.depth);
    }
    if (!(Z > 0)) { assert.equal(frames.length, anc.length + 1); return; }
    // naive expected offsets: recursive sum of earlier siblings' totals
    const offsets = new Map([[z, 0]]);
    const expect = [z];
    const todo = [z];
    while (todo.length) {
      const n = todo.pop();
      let off = offsets.get(n);
      for (const c of n.children) {
        offsets.set(c, off);
        off += c.total;
        if (c.total >= minWidth * Z) { expect.push(c); todo.push(c); }
      }
    }
    for (const n of expect) {
      const f = byNode.get(n);
      assert.ok(f, `${name}: missing ${namePath(n).join(';')}`);
      if (n === z) continue;
      assert.equal(f.x, offsets.get(n) / Z, name);
      assert.equal(f.w, n.total / Z, name);
      assert.equal(f.depth, n.depth, name);
    }
    assert.equal(byNode.size, expect.length + anc.length, `${name}: unexpected frames`);
    // invariants: children inside the parent, widths sum to at most parent width
    const childFrames = new Map();
    for (const f of frames) {
      const parent = f.node ? f.node.parent : f.parent;
      if (!parent || (f.node && f.depth <= z.depth)) continue;
      if (!childFrames.has(parent)) childFrames.set(parent, []);
      childFrames.get(parent).push(f);
      if (f.merged) {
        assert.ok(f.w >= minWidth, name);
        const omitted = parent.children.filter((c) => c.total < minWidth * Z);
        assert.equal(f.count, omitted.length, name);
        assert.equal(f.total, omitted.reduce((a, c) => a + c.total, 0), name);
      } else {
        assert.ok(f.w >= minWidth, `${name}: frame narrower than minWidth`);
      }
    }
    for (const [parent, ch] of childFrames) {
      const pf = byNode.get(parent);
      const sum = ch.reduce((a, f) => a + f.w, 0);
      assert.ok(sum <= pf.w + 1e-12, `${name}: children wider than parent`);
      for (const f of ch) {
        assert.ok(f.x >= pf.x, `${name}: child starts before parent`);
        assert.ok(f.x + f.w <= pf.x + pf.w + 1e-12, `${name}: child ends after parent`);
        assert.equal(f.depth, parent.depth + 1);
      }
      const sorted = ch.slice().sort((a, b) => a.x - b.x);
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i].x >= sorted[i - 1].x + sorted[i - 1].w - 1e-12, `${name}: overlap`);
    }
  }

  test('full layout and zoomed layouts match naive offsets; invariants', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      checkLayout(name, tree, undefined, 0);
      const rand = mulberry32(tree.nodes.length);
      for (let k = 0; k < 5 && tree.nodes.length > 1; k++) {
        const n = tree.nodes[1 + Math.floor(rand() * (tree.nodes.length - 1))];
        checkLayout(`${name} zoom ${n.name}`, tree, n, 0);
        checkLayout(`${name} zoom ${n.name} minWidth`, tree, n, 0.01);
      }
      checkLayout(`${name} minWidth`, tree, undefined, 0.002);
    }
  });

  test('zoomTo breadcrumb and findNode round trip', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      for (const n of tree.nodes) {
        const z = zoomTo(tree, n);
        const chain = [];
        for (let p = n.parent; p; p = p.parent) chain.unshift(p);
        assert.deepEqual(z.ancestors, chain, name);
        assert.deepEqual(z.path, namePath(n), name);
        assert.equal(z.share, tree.total > 0 ? n.total / tree.total : 0);
        // findNode by names picks the heaviest among same-named siblings; names are unique here
        assert.equal(findNode(tree, z.path), n, name);
      }
      assert.equal(findNode(tree, ['no such function']), null);
      assert.equal(zoomTo(tree).node, tree.root);
    }
  });
});

describe('search', () => {
  const PATTERNS = ['main', 'hash', '^rec$', '_1\\d$', 'a', 'http_|json_', '^(?!main).*e', 'zzz', '.'];

  test('matches and share equal brute force (no double counting)', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      const stacks = validStacks(data, st);
      const T = stacks.reduce((a, s) => a + s.v, 0);
      for (const pat of PATTERNS) {
        const re = new RegExp(pat);
        const res = search(tree, pat);
        const expectNodes = tree.nodes.filter((n) => n.parent && re.test(n.name)).map((n) => n.id);
        assert.deepEqual(res.nodes.map((n) => n.id), expectNodes, `${name} /${pat}/`);
        for (const n of tree.nodes) assert.equal(res.matched[n.id], expectNodes.includes(n.id) ? 1 : 0);
        const total = stacks.filter((s) => s.names.some((nm) => re.test(nm))).reduce((a, s) => a + s.v, 0);
        assert.equal(res.total, total, `${name} /${pat}/ total`);
        assert.equal(res.share, T > 0 ? total / T : 0, `${name} /${pat}/ share`);
        assert.ok(res.share >= 0 && res.share <= 1);
      }
    }
  });

  test('recursion is counted once', () => {
    const tree = buildTree(HAND.recursion, 0);
    const res = search(tree, 'rec');
    assert.equal(res.total, 18);
    assert.equal(res.share, 1);
    assert.ok(res.nodes.length > 3);
  });

  test('empty, invalid and case-insensitive patterns', () => {
    const tree = buildTree(HAND.shared, 0);
    assert.equal(search(tree, '').regex, null);
    assert.equal(search(tree, '').share, 0);
    const bad = search(tree, '(');
    assert.ok(bad.error);
    assert.equal(bad.nodes.length, 0);
    assert.equal(search(tree, 'MAIN').share, 0);
    assert.equal(search(tree, 'MAIN', { ignoreCase: true }).share, 1);
    assert.equal(search(tree, /^c$/g).total, 13);
    assert.equal(compilePattern(null).regex, null);
    assert.equal(search(buildTree(HAND.empty), 'x').share, 0);
  });
});

describe('topTable', () => {
  test('self and total (each stack once per function) equal brute force', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      const stacks = validStacks(data, st);
      const T = stacks.reduce((a, s) => a + s.v, 0);
      const rows = topTable(tree);
      const ref = new Map();
      for (const s of stacks) {
        const uniq = new Set(s.ids);
        for (const f of uniq) {
          if (!ref.has(f)) ref.set(f, { self: 0, total: 0 });
          ref.get(f).total += s.v;
        }
        if (s.ids.length) ref.get(s.ids[s.ids.length - 1]).self += s.v;
      }
      assert.equal(rows.length, ref.size, name);
      for (const r of rows) {
        const e = ref.get(r.fn);
        assert.ok(e, name);
        assert.equal(r.self, e.self, `${name} self ${r.name}`);
        assert.equal(r.total, e.total, `${name} total ${r.name}`);
        assert.equal(r.selfShare, T > 0 ? e.self / T : 0);
        assert.equal(r.totalShare, T > 0 ? e.total / T : 0);
        assert.ok(r.total <= T && r.self <= r.total);
      }
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].self >= rows[i].self, name);
    }
  });

  test('recursion hand case', () => {
    const rows = topTable(buildTree(HAND.recursion, 0));
    const rec = rows.find((r) => r.name === 'rec');
    assert.equal(rec.total, 18);
    assert.equal(rec.self, 18);
    assert.equal(rows.find((r) => r.name === 'main').total, 18);
    assert.equal(rows.find((r) => r.name === 'a').total, 12);
    assert.deepEqual(topTable(buildTree(HAND.empty)), []);
  });
});

describe('sandwich', () => {
  // naive: each stack containing f, cut at the first (outermost) occurrence
  function naive(stacks, f) {
    const callers = new Map();
    const callees = new Map();
    let total = 0;
    let self = 0;
    const add = (m, key, v, isSelf) => {
      if (!m.has(key)) m.set(key, { total: 0, self: 0 });
      const e = m.get(key);
      e.total += v;
      if (isSelf) e.self += v;
    };
    for (const s of stacks) {
      const i = s.ids.indexOf(f);
      if (i < 0) continue;
      total += s.v;
      if (s.ids[s.ids.length - 1] === f) self += s.v;
      const up = s.ids.slice(0, i).reverse();
      for (let k = 0; k <= up.length; k++) add(callers, up.slice(0, k).join(','), s.v, k === up.length);
      const down = s.ids.slice(i + 1);
      for (let k = 0; k <= down.length; k++) add(callees, down.slice(0, k).join(','), s.v, k === down.length);
    }
    return { callers, callees, total, self };
  }

  function check(name, t, ref) {
    let count = 0;
    for (const n of t.nodes) {
      const key = idPath(n).join(',');
      const e = ref.get(key);
      assert.ok(e, `${name}: unexpected node ${key}`);
      assert.equal(n.total, e.total, `${name} total ${key}`);
      assert.equal(n.self, e.self, `${name} self ${key}`);
      count++;
    }
    assert.equal(count, ref.size, `${name}: node count`);
  }

  test('callers and callees trees equal brute force', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      const stacks = validStacks(data, st);
      const top = topTable(tree);
      for (const row of top.slice(0, 12)) {
        const sw = sandwich(tree, row.fn);
        const ref = naive(stacks, row.fn);
        assert.equal(sw.total, ref.total, name);
        assert.equal(sw.total, row.total, name);
        assert.equal(sw.self, row.self, name);
        assert.equal(sw.self, ref.self, name);
        assert.equal(sw.callers.total, row.total);
        assert.equal(sw.callers.root.name, row.name);
        assert.ok(sw.callers.inverted);
        check(`${name} callers ${row.name}`, sw.callers, ref.callers);
        check(`${name} callees ${row.name}`, sw.callees, ref.callees);
      }
    }
  });

  test('by name and for recursion', () => {
    const tree = buildTree(HAND.recursion, 0);
    const sw = sandwich(tree, 'rec');
    assert.equal(sw.total, 18);
    assert.deepEqual(sw.callers.root.children.map((c) => c.name).sort(), ['a', 'main']);
    assert.equal(findNode(sw.callees, 'rec;rec').total, 3);
    const none = sandwich(tree, 'nope');
    assert.equal(none.total, 0);
  });
});

describe('diff', () => {
  function perturb(data, seed) {
    const rand = mulberry32(seed);
    // shuffle function ids so that matching must be by name
    const n = data.functions.length;
    const perm = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
    const functions = new Array(n);
    perm.forEach((to, from) => { functions[to] = data.functions[from]; });
    functions.push('new_function');
    const stacks = [];
    for (const [frames, vals] of data.stacks) {
      if (rand() < 0.2) continue; // removed stack
      const f = frames.map((x) => perm[x]);
      const v = vals.map((x) => (rand() < 0.3 ? Math.floor(x * rand() * 3) : x));
      stacks.push([f, v]);
      if (rand() < 0.05) stacks.push([[...f, n], vals.slice()]);
    }
    return { ...data, functions, stacks };
  }

  test('shares and deltas equal brute force recomputation', () => {
    for (const seed of SEEDS) {
      const before = randomProfile(seed, { stacks: 300 });
      const after = perturb(before, seed + 1);
      for (const st of [0, 1, 2]) {
        const d = buildDiff(before, after, st);
        const sa = validStacks(after, st);
        const sb = validStacks(before, st);
        const A = sa.reduce((a, s) => a + s.v, 0);
        const B = sb.reduce((a, s) => a + s.v, 0);
        assert.ok(d.diff);
        assert.equal(d.total, A);
        assert.equal(d.beforeTotal, B);
        let maxAbs = 0;
        for (const n of d.nodes) {
          const p = namePath(n);
          const ra = naiveTotals(sa, p, 'names');
          const rb = naiveTotals(sb, p, 'names');
          assert.equal(n.total, ra.total);
          assert.equal(n.before, rb.total, `before ${p.join(';')}`);
          assert.equal(n.selfBefore, rb.self);
          assert.equal(n.shareAfter, A > 0 ? ra.total / A : 0);
          assert.equal(n.shareBefore, B > 0 ? rb.total / B : 0);
          assert.equal(n.delta, (A > 0 ? ra.total / A : 0) - (B > 0 ? rb.total / B : 0));
          assert.equal(n.selfDelta, (A > 0 ? ra.self / A : 0) - (B > 0 ? rb.self / B : 0));
          if (n.parent) maxAbs = Math.max(maxAbs, Math.abs(n.delta));
          if (p.includes('new_function')) assert.equal(n.before, 0);
        }
        assert.equal(d.maxAbsDelta, maxAbs);
      }
    }
  });

  test('identical profiles give zero deltas; empty sides count as 0', () => {
    const p = randomProfile(5, { stacks: 100 });
    const d = buildDiff(p, p);
    for (const n of d.nodes) assert.equal(n.delta, 0);
    assert.equal(d.maxAbsDelta, 0);
    const e = buildDiff(HAND.empty, p, 1);
    for (const n of e.nodes) { assert.equal(n.before, 0); assert.equal(n.shareBefore, 0); assert.equal(n.delta, n.shareAfter); }
    const g = buildDiff(p, HAND.empty, 0);
    assert.equal(g.nodes.length, 1);
    assert.equal(g.root.delta, -1);
  });

  test('sample type matched by name in before', () => {
    const a = prof(['m', 'x'], [[[0, 1], [1, 100]], [[0], [1, 300]]]);
    const b = {
      ...prof(['m', 'x'], [[[0, 1], [300, 1]], [[0], [100, 1]]]),
      sample_types: [{ type: 'cpu', unit: 'nanoseconds' }, { type: 'samples', unit: 'count' }],
    };
    const d = buildDiff(b, a, 1); // after uses cpu (index 1) → before cpu is index 0
    assert.equal(findNode(d, 'm;x').before, 300);
    assert.equal(findNode(d, 'm;x').delta, 100 / 400 - 300 / 400);
  });

  test('duplicate function names are merged for matching', () => {
    const b = prof(['m', 'x', 'x'], [[[0, 1], [1, 1]], [[0, 2], [1, 1]]]);
    const a = prof(['x', 'm'], [[[1, 0], [2, 2]]]);
    const d = buildDiff(b, a, 0);
    assert.equal(findNode(d, 'm;x').before, 2);
    assert.equal(findNode(d, 'm;x').delta, 0);
  });
});

describe('folded export', () => {
  test('lines equal naive grouping, and parse round trip', () => {
    for (const { name, data, st } of CASES) {
      const tree = buildTree(data, st);
      const text = toFolded(tree);
      const ref = new Map();
      for (const s of validStacks(data, st)) {
        if (!s.names.length) continue;
        const k = s.names.join(';');
        ref.set(k, (ref.get(k) || 0) + s.v);
      }
      const got = new Map();
      for (const line of text.split('\n')) {
        if (!line) continue;
        const m = /^(.*) (\d+)$/.exec(line);
        assert.ok(m, `${name}: bad line ${line}`);
        assert.ok(!got.has(m[1]), `${name}: duplicate line`);
        got.set(m[1], Number(m[2]));
      }
      assert.deepEqual(got, ref, name);
      // round trip
      const back = buildTree(parseFolded(text), 0);
      const rootSelf = tree.root.self;
      assert.equal(back.total, tree.total - rootSelf, name);
      for (const n of back.nodes) if (n.parent) assert.equal(n.total, findNode(tree, namePath(n)).total, name);
    }
  });

  test('subtree export and name sanitising', () => {
    const tree = buildTree(prof(['m', 'a;b', 'c\nd'], [[[0, 1, 2], [3, 3]], [[0], [1, 1]]]), 0);
    assert.equal(toFolded(tree), 'm 1\nm;a_b;c_d 3\n');
    assert.equal(toFolded(tree, tree.root.children[0].children[0]), 'm;a_b;c_d 3\n');
    assert.equal(toFolded(buildTree(HAND.empty)), '');
    const p = parseFolded('a;b 2\n\nbad line x\na;b 3\nc 1\n');
    assert.equal(buildTree(p).total, 6);
    assert.equal(findNode(buildTree(p), 'a;b').self, 5);
  });
});

describe('formatting and info', () => {
  test('formatValue / formatShare / nodeInfo', () => {
    assert.equal(formatValue(1_500_000_000, 'nanoseconds'), '1.50 s');
    assert.equal(formatValue(12_300_000, 'nanoseconds'), '12.3 ms');
    assert.equal(formatValue(999, 'nanoseconds'), '999 ns');
    assert.equal(formatValue(3 * 1024 * 1024, 'bytes'), '3.00 MiB');
    assert.equal(formatValue(42, 'count'), '42');
    assert.equal(formatShare(0.5), '50.0%');
    assert.equal(formatShare(0.01234), '1.23%');
    const tree = buildTree(HAND.shared, 1);
    const info = nodeInfo(tree, findNode(tree, 'main;b'));
    assert.deepEqual(info.path, ['main', 'b']);
    assert.equal(info.total, 60);
    assert.equal(info.share, 60 / 130);
    assert.equal(info.unit, 'nanoseconds');
    const d = buildDiff(HAND.shared, HAND.shared, 0);
    assert.equal(nodeInfo(d, d.root.children[0]).delta, 0);
  });
});

test('startsWith helper sanity', () => {
  assert.ok(startsWith([1, 2, 3], [1, 2]));
  assert.ok(!startsWith([1], [1, 2]));
});
