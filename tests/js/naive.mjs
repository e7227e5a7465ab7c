// Naive reference implementations (brute force over stacks) for the model tests.

/** Valid stacks for a sample type: [{ids, names, v}] with v > 0. */
export function validStacks(data, st) {
  const names = data.functions || [];
  const out = [];
  for (const s of data.stacks || []) {
    const v = s[1] ? s[1][st] : undefined;
    if (typeof v !== 'number' || !(v > 0) || v === Infinity) continue;
    const ids = (s[0] || []).map((f) => (Number.isInteger(f) && f >= 0 && f < names.length ? f : names.length));
    out.push({ ids, names: ids.map((f) => (f < names.length ? String(names[f]) : '?')), v });
  }
  return out;
}

export function startsWith(arr, prefix) {
  if (prefix.length > arr.length) return false;
  for (let i = 0; i < prefix.length; i++) if (arr[i] !== prefix[i]) return false;
  return true;
}

export function sameArray(a, b) {
  return a.length === b.length && startsWith(a, b);
}

/** total and self of a path (array of ids or names, per `key`) by brute force. */
export function naiveTotals(stacks, path, key = 'ids') {
  let total = 0;
  let self = 0;
  for (const s of stacks) {
    if (startsWith(s[key], path)) {
      total += s.v;
      if (s[key].length === path.length) self += s.v;
    }
  }
  return { total, self };
}

/** All distinct non-empty prefixes (as "id,id,..." strings). */
export function naivePrefixes(stacks, key = 'ids') {
  const set = new Set();
  for (const s of stacks) for (let i = 1; i <= s[key].length; i++) set.add(s[key].slice(0, i).join('\u0000'));
  return set;
}

export function idPath(node) {
  const out = [];
  for (let n = node; n && n.parent; n = n.parent) out.push(n.fn);
  return out.reverse();
}

export function namePath(node) {
  const out = [];
  for (let n = node; n && n.parent; n = n.parent) out.push(n.name);
  return out.reverse();
}
