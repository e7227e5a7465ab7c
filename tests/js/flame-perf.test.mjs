// 10,000 distinct stacks: build and layout invariants.  The times are
// printed as diagnostics only: speed is measured by bench/flame_browser.sh,
// never asserted in the test command (shared machines are noisy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTree, layout, search, topTable, buildDiff, toFolded } from '../../html/js/flame-model.js';
import { randomProfile } from './gen-profile.mjs';

function time(fn) {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

test('10,000 distinct stacks build and lay out; invariants hold', (t) => {
  const data = randomProfile(2024, { stacks: 10_000, maxDepth: 30, functions: 400 });
  assert.equal(data.stacks.length, 10_000);
  assert.equal(new Set(data.stacks.map((s) => s[0].join(','))).size, 10_000);
  buildTree(data, 1); // warm-up (JIT)
  // best of 3: shared CI VMs are noisy (allocation/GC dominates the build)
  let tree = null;
  let tBuild = Infinity;
  for (let i = 0; i < 3; i++) {
    const [tr, dt] = time(() => buildTree(data, 1));
    tree = tr;
    tBuild = Math.min(tBuild, dt);
  }
  const [lay, tLayout] = time(() => layout(tree, tree.root));
  const [layPx, tLayoutPx] = time(() => layout(tree, tree.root, { minWidth: 1 / 1200 }));
  const [res, tSearch] = time(() => search(tree, 'hash|json'));
  const [, tTop] = time(() => topTable(tree));
  const [, tFolded] = time(() => toFolded(tree));
  const [, tDiff] = time(() => buildDiff(data, data, 1));
  t.diagnostic(`nodes=${tree.nodes.length} build=${tBuild.toFixed(1)}ms layout(all)=${tLayout.toFixed(1)}ms ` +
    `layout(1px@1200)=${tLayoutPx.toFixed(1)}ms frames=${layPx.frames.length} search=${tSearch.toFixed(1)}ms ` +
    `top=${tTop.toFixed(1)}ms folded=${tFolded.toFixed(1)}ms diff=${tDiff.toFixed(1)}ms`);
  assert.ok(res.share > 0 && res.share <= 1);

  // invariants on the full layout
  assert.equal(lay.frames.length, tree.nodes.length);
  const byNode = new Map(lay.frames.map((f) => [f.node, f]));
  for (const n of tree.nodes) {
    const f = byNode.get(n);
    assert.ok(f);
    assert.ok(f.x >= 0 && f.x + f.w <= 1);
    if (!n.children.length) continue;
    let sum = 0;
    let prevEnd = f.x;
    for (const c of n.children) {
      const cf = byNode.get(c);
      sum += cf.w;
      assert.ok(cf.x >= f.x && cf.x + cf.w <= f.x + f.w + 1e-12);
      assert.ok(cf.x >= prevEnd - 1e-12);
      prevEnd = cf.x + cf.w;
    }
    assert.ok(sum <= f.w + 1e-12);
  }
  // the pixel-pruned layout keeps only frames >= 1px (plus merged "…" frames)
  for (const f of layPx.frames) assert.ok(f.w >= 1 / 1200 || f.node === tree.root);
});
