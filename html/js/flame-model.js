// flame-model.js — pure flame-graph model (no DOM).
//
// Input profile format (JSON served by the profiling endpoints):
//   {
//     "type": "cpu",                 // cpu | heap | goroutine | block | mutex | threadcreate
//     "sample_types": [{"type": "samples", "unit": "count"},
//                      {"type": "cpu", "unit": "nanoseconds"}],
//     "default_sample_type": 1,      // index into sample_types
//     "functions": ["main", "worker", ...],          // index = function id
//     "stacks": [ [[0, 1, 2], [12, 120000000]], ... ] // [frames root-first, values per type]
//   }
//
// Stacks whose value for the chosen sample type is not a positive finite number
// are ignored (pprof does the same for zero samples).  A stack with no frames
// contributes to the self value of the synthetic root.  Frame ids that are not
// valid indices into `functions` are shown as "?" (one shared function id).
//
// Tree:  { root, nodes, names, total, maxDepth, sampleType, type }
// Node:  { id, fn, name, depth, total, self, parent, children }
//   - `id` is the index into tree.nodes; root has id 0, fn -1, depth 0;
//     a parent's id is always smaller than its children's ids.
//   - children are sorted by total (descending), then name, then fn id, so
//     children[0] is the heaviest child.

export const ROOT_NAME = 'all';

class Node {
  constructor(id, fn, name, parent, depth, total, self, children) {
    this.id = id;
    this.fn = fn;
    this.name = name;
    this.depth = depth;
    this.total = total;
    this.self = self;
    this.parent = parent;
    this.children = children;
    // filled in by buildDiff (kept in the constructor for a stable object shape)
    this.before = undefined;
    this.selfBefore = undefined;
    this.shareBefore = undefined;
    this.shareAfter = undefined;
    this.delta = undefined;
    this.selfDelta = undefined;
  }
}

const EMPTY = Object.freeze([]);

function compareChildren(a, b) {
  if (a.total !== b.total) return b.total - a.total;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.fn - b.fn;
}

// Incremental tree builder shared by buildTree, sandwich and parseFolded.
// Nodes live in typed arrays while building (ids; 0 = root) with an
// open-addressing hash (parent, fn) -> id, so that building 10k+ stacks
// allocates almost nothing; finish() materialises the node objects.
class TreeBuilder {
  constructor(names, rootName = ROOT_NAME, rootFn = -1) {
    this.names = names;
    this.rootName = rootName;
    this.n = 1;
    this.cap = 0;
    this.grow(1024);
    this.fn[0] = rootFn;
    this.parent[0] = -1;
    this.hmask = 0;
    this.table = null;
    this.rehash(4096);
  }

  grow(cap) {
    const old = this.cap ? this : null;
    const mk = (T, k) => { const a = new T(cap); if (old) a.set(old[k].subarray(0, this.n)); return a; };
    this.fn = mk(Int32Array, 'fn');
    this.parent = mk(Int32Array, 'parent');
    this.total = mk(Float64Array, 'total');
    this.self = mk(Float64Array, 'self');
    this.cap = cap;
  }

  static hash(p, f) {
    let h = Math.imul(p, 0x9e3779b1) ^ Math.imul(f + 1, 0x85ebca6b);
    h ^= h >>> 15;
    return h;
  }

  rehash(size) {
    this.table = new Int32Array(size); // node id + 1, 0 = empty (root is never a child)
    this.hmask = size - 1;
    for (let id = 1; id < this.n; id++) {
      let h = TreeBuilder.hash(this.parent[id], this.fn[id]) & this.hmask;
      while (this.table[h] !== 0) h = (h + 1) & this.hmask;
      this.table[h] = id + 1;
    }
  }

  /** id of the child of `p` (id) for function `f`, created if missing. */
  child(p, f) {
    const table = this.table;
    const mask = this.hmask;
    let h = TreeBuilder.hash(p, f) & mask;
    for (;;) {
      const e = table[h];
      if (e === 0) break;
      const id = e - 1;
      if (this.parent[id] === p && this.fn[id] === f) return id;
      h = (h + 1) & mask;
    }
    const id = this.n++;
    if (id >= this.cap) this.grow(this.cap * 2);
    this.fn[id] = f;
    this.parent[id] = p;
    table[h] = id + 1;
    if (this.n * 2 > table.length) this.rehash(table.length * 2);
    return id;
  }

  finish(extra) {
    const N = this.n;
    const names = this.names;
    const nNames = names.length;
    const nodes = new Array(N);
    const fnA = this.fn;
    const parA = this.parent;
    const totA = this.total;
    const selfA = this.self;
    // exact-size children arrays (leaves share one frozen empty array)
    const count = new Int32Array(N);
    for (let id = 1; id < N; id++) count[parA[id]]++;
    const fill = new Int32Array(N);
    const strNames = new Array(nNames);
    const root = new Node(0, fnA[0], this.rootName, null, 0, totA[0], selfA[0],
      count[0] ? new Array(count[0]) : EMPTY);
    nodes[0] = root;
    let maxDepth = 0;
    // parents always have smaller ids than their children
    for (let id = 1; id < N; id++) {
      const pid = parA[id];
      const par = nodes[pid];
      const f = fnA[id];
      let name;
      if (f >= 0 && f < nNames) {
        name = strNames[f];
        if (name === undefined) name = strNames[f] = String(names[f]);
      } else name = '?';
      const depth = par.depth + 1;
      const node = new Node(id, f, name, par, depth, totA[id], selfA[id],
        count[id] ? new Array(count[id]) : EMPTY);
      nodes[id] = node;
      par.children[fill[pid]++] = node;
      if (depth > maxDepth) maxDepth = depth;
    }
    for (let id = 0; id < N; id++) {
      const ch = nodes[id].children;
      if (ch.length > 1) ch.sort(compareChildren);
    }
    this.table = null;
    return Object.assign(
      { root, nodes, names, total: root.total, maxDepth },
      extra,
    );
  }
}

/** Resolve the sample-type index to use (falls back to default_sample_type, then 0). */
export function resolveSampleType(data, sampleTypeIndex) {
  const types = (data && Array.isArray(data.sample_types)) ? data.sample_types : [];
  let st = sampleTypeIndex;
  if (!Number.isInteger(st) || st < 0 || (types.length && st >= types.length)) {
    st = data && Number.isInteger(data.default_sample_type) ? data.default_sample_type : 0;
  }
  if (types.length && (st < 0 || st >= types.length)) st = 0;
  return st;
}

/**
 * Build the merged call tree for one sample type.
 * @param {object} data profile (format above)
 * @param {number} [sampleTypeIndex] defaults to data.default_sample_type
 * @param {{mergeByName?: boolean, rootName?: string}} [options]
 *   mergeByName: treat distinct function ids with the same name as one function.
 * @returns {Tree}
 */
export function buildTree(data, sampleTypeIndex, options = {}) {
  const names = data && Array.isArray(data.functions) ? data.functions : [];
  const stacks = data && Array.isArray(data.stacks) ? data.stacks : [];
  const st = resolveSampleType(data, sampleTypeIndex);
  const nFn = names.length;
  const unknown = nFn; // shared id for invalid frame ids
  let canon = null;
  if (options.mergeByName) {
    canon = new Int32Array(nFn);
    const first = new Map();
    for (let i = 0; i < nFn; i++) {
      const nm = String(names[i]);
      const f = first.get(nm);
      if (f === undefined) { first.set(nm, i); canon[i] = i; } else canon[i] = f;
    }
  }
  const b = new TreeBuilder(names, options.rootName || ROOT_NAME);
  for (let s = 0; s < stacks.length; s++) {
    const stack = stacks[s];
    if (!stack) continue;
    const vals = stack[1];
    const v = vals ? vals[st] : undefined;
    if (typeof v !== 'number' || !(v > 0) || v === Infinity) continue;
    const frames = stack[0] || [];
    let cur = 0;
    let total = b.total;
    total[0] += v;
    for (let i = 0; i < frames.length; i++) {
      let f = frames[i];
      if (!(f >= 0 && f < nFn && (f | 0) === f)) f = unknown;
      else if (canon) f = canon[f];
      // inlined fast path of b.child(cur, f)
      const table = b.table;
      const mask = b.hmask;
      const par = b.parent;
      const fns = b.fn;
      let h = TreeBuilder.hash(cur, f) & mask;
      let id = -1;
      for (;;) {
        const e = table[h];
        if (e === 0) break;
        if (par[e - 1] === cur && fns[e - 1] === f) { id = e - 1; break; }
        h = (h + 1) & mask;
      }
      if (id < 0) { id = b.child(cur, f); total = b.total; }
      cur = id;
      total[cur] += v;
    }
    b.self[cur] += v;
  }
  const types = data && Array.isArray(data.sample_types) ? data.sample_types : [];
  return b.finish({
    type: (data && data.type) || 'unknown',
    sampleType: types[st] || { type: 'samples', unit: 'count' },
    sampleTypeIndex: st,
  });
}

/** Names from the tree root (excluded) down to `node`. */
export function pathOf(node) {
  const out = [];
  for (let n = node; n && n.parent; n = n.parent) out.push(n.name);
  return out.reverse();
}

/** Ancestors of `node`, root first (the zoom breadcrumb), not including node. */
export function ancestorsOf(node) {
  const out = [];
  for (let n = node && node.parent; n; n = n.parent) out.push(n);
  return out.reverse();
}

/**
 * Find a node by path of names (array or "a;b;c" string, root excluded).
 * With duplicate names among siblings the heaviest one wins.  [] → root.
 */
export function findNode(tree, path) {
  if (!tree) return null;
  const parts = typeof path === 'string' ? (path === '' ? [] : path.split(';')) : (path || []);
  let n = tree.root;
  for (const name of parts) {
    let next = null;
    for (const c of n.children) if (c.name === name) { next = c; break; }
    if (!next) return null;
    n = next;
  }
  return n;
}

/**
 * Zoom to a node: returns the breadcrumb and the shares.
 * @returns {{node, ancestors: Node[], path: string[], share: number}}
 */
export function zoomTo(tree, node) {
  const n = node || tree.root;
  return {
    node: n,
    ancestors: ancestorsOf(n),
    path: pathOf(n),
    share: tree.total > 0 ? n.total / tree.total : 0,
  };
}

/**
 * Layout rows for a zoom root.  Every frame is {node, x, w, depth} with x and w
 * as fractions (0..1) of the zoom root's width.  Ancestors of the zoom root are
 * full-width bars (x 0, w 1) at their own depth; the zoom root is full width.
 * Children are laid left to right in tree order; x = (integer offset)/zoom.total
 * so children never overflow their parent.
 * Children narrower than `minWidth` (fraction) are skipped; if the skipped
 * siblings together are at least `minWidth` wide they become one merged frame
 * {node: null, merged: true, count, total, parent, x, w, depth}.
 * @param {Tree} tree
 * @param {Node} [zoomNode]
 * @param {{minWidth?: number, maxDepth?: number}} [options]
 * @returns {{frames: object[], zoom: Node, maxDepth: number}}
 */
export function layout(tree, zoomNode, options = {}) {
  const zoom = zoomNode || tree.root;
  const minWidth = options.minWidth > 0 ? options.minWidth : 0;
  const depthLimit = options.maxDepth >= 0 ? options.maxDepth : Infinity;
  const frames = [];
  for (const a of ancestorsOf(zoom)) frames.push({ node: a, x: 0, w: 1, depth: a.depth });
  frames.push({ node: zoom, x: 0, w: 1, depth: zoom.depth });
  let maxDepth = zoom.depth;
  const Z = zoom.total;
  if (Z > 0) {
    const minTotal = minWidth * Z;
    // explicit stack: [node, start offset]
    const stackN = [zoom];
    const stackS = [0];
    while (stackN.length) {
      const n = stackN.pop();
      const start = stackS.pop();
      if (n.depth >= depthLimit) continue;
      let off = start;
      const ch = n.children;
      let i = 0;
      for (; i < ch.length; i++) {
        const c = ch[i];
        if (c.total < minTotal) break; // sorted descending: the rest is narrower
        frames.push({ node: c, x: off / Z, w: c.total / Z, depth: c.depth });
        if (c.depth > maxDepth) maxDepth = c.depth;
        if (c.children.length) { stackN.push(c); stackS.push(off); }
        off += c.total;
      }
      if (i < ch.length) {
        let rest = 0;
        for (let j = i; j < ch.length; j++) rest += ch[j].total;
        if (rest >= minTotal && rest > 0) {
          frames.push({
            node: null, merged: true, parent: n, count: ch.length - i, total: rest,
            x: off / Z, w: rest / Z, depth: n.depth + 1,
          });
          if (n.depth + 1 > maxDepth) maxDepth = n.depth + 1;
        }
      }
    }
  }
  return { frames, zoom, maxDepth };
}

/** Compile a search pattern; returns {regex} or {error}. */
export function compilePattern(pattern, ignoreCase = false) {
  if (pattern instanceof RegExp) return { regex: new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) };
  if (pattern == null || pattern === '') return { regex: null };
  try {
    return { regex: new RegExp(String(pattern), ignoreCase ? 'i' : '') };
  } catch (e) {
    return { regex: null, error: e.message };
  }
}

/**
 * Regexp search over function names.
 * Returns every matching node and the share of the profile total they account
 * for, counting a match nested under a matching ancestor only once.
 * @returns {{regex, error?, nodes: Node[], matched: Uint8Array, total: number,
 *            share: number, functions: number[]}}
 */
export function search(tree, pattern, options = {}) {
  const { regex, error } = compilePattern(pattern, options.ignoreCase);
  const matched = new Uint8Array(tree ? tree.nodes.length : 0);
  const res = { regex, error, nodes: [], matched, total: 0, share: 0, functions: [] };
  if (!regex || !tree) return res;
  // per-function match cache: 0 unknown, 1 no, 2 yes
  const cache = new Uint8Array(tree.names.length + 2);
  const nodes = tree.nodes;
  const N = nodes.length;
  // "a match at or above this node": parents always have smaller ids than
  // their children, so one pass in id order replaces a DFS
  const covered = new Uint8Array(N);
  let total = 0;
  for (let i = 1; i < N; i++) {
    const n = nodes[i];
    const k = n.fn + 1;
    let m = cache[k];
    if (m === 0) {
      m = regex.test(n.name) ? 2 : 1;
      cache[k] = m;
      if (m === 2) res.functions.push(n.fn);
    }
    const up = covered[n.parent.id];
    if (m === 2) {
      matched[i] = 1;
      res.nodes.push(n);
      if (!up) total += n.total;
      covered[i] = 1;
    } else covered[i] = up;
  }
  res.total = total;
  res.share = tree.total > 0 ? total / tree.total : 0;
  return res;
}

/**
 * Per-function table.  self = sum of self values; total = value of all stacks
 * that contain the function, each stack counted once even under recursion.
 * Sorted by self desc, then total desc, then name.
 * @returns {{fn, name, self, total, selfShare, totalShare}[]}
 */
export function topTable(tree) {
  const nFn = tree.names.length + 1;
  const self = new Float64Array(nFn + 1);
  const total = new Float64Array(nFn + 1);
  const seen = new Uint8Array(nFn + 1);
  const onPath = new Int32Array(nFn + 1);
  const nameOf = new Map();
  // iterative DFS with enter/exit
  const stack = [];
  for (const c of tree.root.children) stack.push(c);
  const exitMark = [];
  while (stack.length) {
    const n = stack.pop();
    if (n === null) { onPath[exitMark.pop().fn + 1]--; continue; }
    const k = n.fn + 1;
    if (!seen[k]) { seen[k] = 1; nameOf.set(n.fn, n.name); }
    self[k] += n.self;
    if (onPath[k] === 0) total[k] += n.total;
    onPath[k]++;
    exitMark.push(n);
    stack.push(null);
    for (const c of n.children) stack.push(c);
  }
  const T = tree.total;
  const rows = [];
  for (const [fn, name] of nameOf) {
    const k = fn + 1;
    rows.push({
      fn, name, self: self[k], total: total[k],
      selfShare: T > 0 ? self[k] / T : 0,
      totalShare: T > 0 ? total[k] / T : 0,
    });
  }
  rows.sort((a, b) => (b.self - a.self) || (b.total - a.total) || (a.name < b.name ? -1 : a.name > b.name ? 1 : a.fn - b.fn));
  return rows;
}

function fnIdOf(tree, fnOrName) {
  if (typeof fnOrName === 'number') return fnOrName;
  for (const n of tree.nodes) if (n !== tree.root && n.name === fnOrName) return n.fn;
  const i = tree.names.indexOf(fnOrName);
  return i;
}

/**
 * Sandwich view for one function (id or name), merged over all occurrences.
 * As in speedscope, each stack is taken at its OUTERMOST occurrence of the
 * function, so both trees' root totals equal the top-table total:
 *   callers: inverted tree, root = the function, children = its direct callers,
 *            their children = the callers' callers ...  self = stacks that start there.
 *   callees: normal tree rooted at the function (its subtrees merged).
 * @returns {{fn, name, self, total, callers: Tree, callees: Tree}}
 */
export function sandwich(tree, fnOrName) {
  const fn = fnIdOf(tree, fnOrName);
  const name = fn >= 0 && fn < tree.names.length ? String(tree.names[fn])
    : typeof fnOrName === 'number' ? '?' : String(fnOrName);
  const cb = new TreeBuilder(tree.names, name, fn);
  const eb = new TreeBuilder(tree.names, name, fn);
  let self = 0;
  const merge = (dst, src) => {
    eb.total[dst] += src.total;
    eb.self[dst] += src.self;
    for (const c of src.children) merge(eb.child(dst, c.fn), c);
  };
  const stack = [];
  for (const c of tree.root.children) stack.push(c);
  while (stack.length) {
    const n = stack.pop();
    if (n.fn === fn) {
      // outermost occurrence
      merge(0, n);
      let cur = 0;
      cb.total[0] += n.total;
      for (let p = n.parent; p && p.parent; p = p.parent) {
        cur = cb.child(cur, p.fn);
        cb.total[cur] += n.total;
      }
      cb.self[cur] += n.total;
      // self values of nested occurrences too
      const inner = [n];
      while (inner.length) {
        const m = inner.pop();
        if (m.fn === fn) self += m.self;
        for (const c of m.children) inner.push(c);
      }
      continue;
    }
    for (const c of n.children) stack.push(c);
  }
  const extra = { type: tree.type, sampleType: tree.sampleType, sampleTypeIndex: tree.sampleTypeIndex };
  const callers = cb.finish({ ...extra, inverted: true });
  const callees = eb.finish(extra);
  return { fn, name, self, total: callees.total, callers, callees };
}

function sampleTypeFor(data, st, ref) {
  const types = data && Array.isArray(data.sample_types) ? data.sample_types : [];
  if (ref) {
    const i = types.findIndex((t) => t && t.type === ref.type && t.unit === ref.unit);
    if (i >= 0) return i;
  }
  return st;
}

/**
 * Differential tree: the tree of `after`, where every node also carries
 *   before      total of the same path (by function names) in `before` (0 if absent)
 *   shareBefore before / before.total,  shareAfter total / after.total
 *   delta       shareAfter - shareBefore   (> 0 grew → red, < 0 shrank → blue)
 *   selfBefore, selfDelta  the same for self values
 * tree.maxAbsDelta is the largest |delta| (excluding the root), for colour scaling.
 * The sample type is matched by (type, unit) in `before`, else by index.
 */
export function buildDiff(before, after, sampleTypeIndex) {
  const ta = buildTree(after, sampleTypeIndex, { mergeByName: true });
  const stB = sampleTypeFor(before, ta.sampleTypeIndex, ta.sampleType);
  const tb = buildTree(before, stB, { mergeByName: true });
  const A = ta.total;
  const B = tb.total;
  let maxAbs = 0;
  // common name space, then one map (beforeParentId, nameId) -> before node
  const uid = new Map();
  const uOf = (name) => {
    let u = uid.get(name);
    if (u === undefined) { u = uid.size; uid.set(name, u); }
    return u;
  };
  const perFn = (t) => {
    const m = new Int32Array(t.names.length + 2).fill(-1);
    const out = new Int32Array(t.nodes.length);
    for (let i = 1; i < t.nodes.length; i++) {
      const n = t.nodes[i];
      let u = m[n.fn + 1];
      if (u < 0) u = m[n.fn + 1] = uOf(n.name);
      out[i] = u;
    }
    return out;
  };
  const nbU = perFn(tb);
  const naU = perFn(ta);
  const U = uid.size + 1;
  const bIndex = new Map();
  for (let i = 1; i < tb.nodes.length; i++) bIndex.set(tb.nodes[i].parent.id * U + nbU[i], i);
  const match = new Int32Array(ta.nodes.length).fill(-1);
  match[0] = 0;
  const an = ta.nodes;
  const bn = tb.nodes;
  for (let i = 0; i < an.length; i++) {
    const a = an[i];
    if (i > 0) {
      const bp = match[a.parent.id];
      if (bp >= 0) {
        const j = bIndex.get(bp * U + naU[i]);
        if (j !== undefined) match[i] = j;
      }
    }
    const b = match[i] >= 0 ? bn[match[i]] : null;
    const bt = b ? b.total : 0;
    const bs = b ? b.self : 0;
    a.before = bt;
    a.selfBefore = bs;
    a.shareAfter = A > 0 ? a.total / A : 0;
    a.shareBefore = B > 0 ? bt / B : 0;
    a.delta = a.shareAfter - a.shareBefore;
    a.selfDelta = (A > 0 ? a.self / A : 0) - (B > 0 ? bs / B : 0);
    if (i > 0 && Math.abs(a.delta) > maxAbs) maxAbs = Math.abs(a.delta);
  }
  ta.diff = true;
  ta.beforeTotal = B;
  ta.maxAbsDelta = maxAbs;
  return ta;
}

function foldedName(s) {
  return String(s).replace(/[;\r\n]/g, '_');
}

/**
 * Folded-stack export (Brendan Gregg format): one line per distinct stack,
 * "a;b;c 12", using self values; ';' and newlines in names become '_'.
 * With `node`, only that subtree (lines still start at the profile root).
 */
export function toFolded(tree, node) {
  const start = node || tree.root;
  const lines = [];
  const prefix = pathOf(start).map(foldedName);
  const walk = (n, path) => {
    if (n.self > 0 && path.length) lines.push(path.join(';') + ' ' + n.self);
    for (const c of n.children) {
      path.push(foldedName(c.name));
      walk(c, path);
      path.pop();
    }
  };
  walk(start, prefix);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** Parse folded stacks ("a;b;c 12" per line) into the profile format. */
export function parseFolded(text, type = 'cpu') {
  const functions = [];
  const ids = new Map();
  const stacks = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    const v = Number(line.slice(sp + 1));
    if (!Number.isFinite(v)) continue;
    const frames = line.slice(0, sp).split(';').map((nm) => {
      let id = ids.get(nm);
      if (id === undefined) { id = functions.length; functions.push(nm); ids.set(nm, id); }
      return id;
    });
    stacks.push([frames, [v]]);
  }
  return {
    type, sample_types: [{ type: 'samples', unit: 'count' }], default_sample_type: 0, functions, stacks,
  };
}

/** Summary of a node for tooltips and callbacks. */
export function nodeInfo(tree, node) {
  const T = tree.total;
  const info = {
    name: node.name, fn: node.fn, path: pathOf(node), depth: node.depth,
    total: node.total, self: node.self,
    share: T > 0 ? node.total / T : 0,
    selfShare: T > 0 ? node.self / T : 0,
    unit: tree.sampleType ? tree.sampleType.unit : 'count',
  };
  if (tree.diff) {
    Object.assign(info, {
      before: node.before, shareBefore: node.shareBefore, shareAfter: node.shareAfter,
      delta: node.delta, selfDelta: node.selfDelta,
    });
  }
  return info;
}

/** Human-readable value for a pprof unit. */
export function formatValue(v, unit = 'count') {
  const fmt = (x, u) => {
    const a = Math.abs(x);
    const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
    return s + ' ' + u;
  };
  switch (unit) {
    case 'nanoseconds': {
      const a = Math.abs(v);
      if (a >= 1e9) return fmt(v / 1e9, 's');
      if (a >= 1e6) return fmt(v / 1e6, 'ms');
      if (a >= 1e3) return fmt(v / 1e3, 'µs');
      return v + ' ns';
    }
    case 'bytes': {
      const a = Math.abs(v);
      if (a >= 2 ** 30) return fmt(v / 2 ** 30, 'GiB');
      if (a >= 2 ** 20) return fmt(v / 2 ** 20, 'MiB');
      if (a >= 2 ** 10) return fmt(v / 2 ** 10, 'KiB');
      return v + ' B';
    }
    default:
      return Math.abs(v) >= 1e6 ? fmt(v / 1e6, 'M') : String(v);
  }
}

/** Percentage text for a 0..1 share. */
export function formatShare(s) {
  const p = s * 100;
  return (Math.abs(p) >= 10 ? p.toFixed(1) : p.toFixed(2)) + '%';
}
